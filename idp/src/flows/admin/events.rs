//! `GET /events` and `GET /admin-events`, with Keycloak's filters.

use super::repr::{AdminEventRepresentation, EventRepresentation};
use super::{AdminError, Caller, Resource, perform};
use crate::domain::AdminRole;
use crate::flows::tokens::Ctx;
use crate::store::{AdminEventQuery, AdminStore, EventQuery, EventStore, EventType, OperationType};
use time::{Date, OffsetDateTime, Time};

/// Keycloak's `/events` parameters. Lists are repeated parameters (`type=LOGIN&type=LOGOUT`)
/// or comma-separated.
#[derive(Debug, Clone, Default)]
pub struct EventParams {
    pub types: Vec<String>,
    pub client: Option<String>,
    pub user: Option<String>,
    pub ip_address: Option<String>,
    pub date_from: Option<String>,
    pub date_to: Option<String>,
    pub first: Option<u32>,
    pub max: Option<u32>,
}

/// Keycloak's `/admin-events` parameters.
#[derive(Debug, Clone, Default)]
pub struct AdminEventParams {
    pub operation_types: Vec<String>,
    pub resource_types: Vec<String>,
    pub resource_path: Option<String>,
    pub auth_client: Option<String>,
    pub auth_user: Option<String>,
    pub auth_ip_address: Option<String>,
    pub date_from: Option<String>,
    pub date_to: Option<String>,
    pub first: Option<u32>,
    pub max: Option<u32>,
}

/// Keycloak's `dateFrom`/`dateTo`: `yyyy-MM-dd` (the whole day, in UTC) or Unix milliseconds.
fn date(field: &str, raw: Option<&str>, end_of_day: bool) -> Result<Option<OffsetDateTime>, AdminError> {
    let Some(raw) = raw.map(str::trim).filter(|r| !r.is_empty()) else { return Ok(None) };
    if let Ok(ms) = raw.parse::<i64>() {
        return OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
            .map(Some)
            .map_err(|_| AdminError::invalid(format!("{field}: out of range")));
    }
    let day = Date::parse(raw, time::macros::format_description!("[year]-[month]-[day]"))
        .map_err(|_| AdminError::invalid(format!("{field}: yyyy-MM-dd or Unix milliseconds")))?;
    let at = if end_of_day {
        Time::from_hms_milli(23, 59, 59, 999).unwrap_or(Time::MIDNIGHT)
    } else {
        Time::MIDNIGHT
    };
    Ok(Some(day.with_time(at).assume_utc()))
}

fn split(values: &[String]) -> impl Iterator<Item = &str> {
    values.iter().flat_map(|v| v.split(',')).map(str::trim).filter(|v| !v.is_empty())
}

pub async fn events(
    ctx: Ctx<'_>,
    caller: &Caller,
    params: &EventParams,
) -> Result<Vec<EventRepresentation>, AdminError> {
    let types = split(&params.types)
        .map(|t| {
            EventType::parse(t).ok_or_else(|| AdminError::invalid(format!("type: unknown event type {t}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let (first, max) = super::page(params.first, params.max);
    let query = EventQuery {
        types,
        user_id: params.user.clone(),
        client_id: params.client.clone(),
        ip_address: params.ip_address.clone(),
        from: date("dateFrom", params.date_from.as_deref(), false)?,
        to: date("dateTo", params.date_to.as_deref(), true)?,
        first,
        max,
    };
    perform(
        ctx,
        caller,
        AdminRole::ViewEvents,
        OperationType::Read,
        Resource::new("REALM", "events"),
        None,
        async {
            Ok(ctx.db.events(&ctx.realm.id, &query).await?.into_iter().map(EventRepresentation::of).collect())
        },
    )
    .await
}

pub async fn admin_events(
    ctx: Ctx<'_>,
    caller: &Caller,
    params: &AdminEventParams,
) -> Result<Vec<AdminEventRepresentation>, AdminError> {
    let operations = split(&params.operation_types)
        .map(|t| {
            OperationType::parse(t).ok_or_else(|| AdminError::invalid(format!("operationTypes: unknown {t}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let (first, max) = super::page(params.first, params.max);
    let query = AdminEventQuery {
        operations,
        resource_types: split(&params.resource_types).map(str::to_owned).collect(),
        resource_path: params.resource_path.clone(),
        auth_client_id: params.auth_client.clone(),
        auth_user_id: params.auth_user.clone(),
        auth_ip_address: params.auth_ip_address.clone(),
        from: date("dateFrom", params.date_from.as_deref(), false)?,
        to: date("dateTo", params.date_to.as_deref(), true)?,
        first,
        max,
    };
    let resource = Resource::new("REALM", "admin-events");
    perform(ctx, caller, AdminRole::ViewEvents, OperationType::Read, resource, None, async {
        Ok(ctx
            .db
            .admin_events(&ctx.realm.id, &query)
            .await?
            .into_iter()
            .map(AdminEventRepresentation::of)
            .collect())
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_whole_utc_days_or_milliseconds() {
        let from = date("dateFrom", Some("2026-11-24"), false).ok().flatten().map(|d| d.unix_timestamp());
        assert_eq!(from, Some(1_795_478_400));
        let to = date("dateTo", Some("2026-11-24"), true).ok().flatten().map(|d| d.unix_timestamp());
        assert_eq!(to, Some(1_795_478_400 + 86_399));
        let ms = date("dateFrom", Some("1795478400000"), false).ok().flatten().map(|d| d.unix_timestamp());
        assert_eq!(ms, Some(1_795_478_400));
        assert!(date("dateFrom", Some("24/11/2026"), false).is_err());
    }
}
