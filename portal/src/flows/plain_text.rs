//! The kenpo's plain text (a notice's or a message's body) as a page shows it: paragraphs split
//! by blank lines, lines kept, and `https://` URLs made links. It becomes data, not HTML: the
//! template writes every piece escaped, so nothing the kenpo sends is ever markup.

use serde::Serialize;

/// A run of text, or a link whose text is its URL.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Span {
    pub text: String,
    /// Set for a link: the URL, checked to parse as an https URL.
    pub href: Option<String>,
}

/// Lines of a paragraph, each a list of spans.
pub type Paragraph = Vec<Vec<Span>>;

/// Splits `body` into paragraphs (one or more blank lines apart) of lines of spans.
pub fn paragraphs(body: &str) -> Vec<Paragraph> {
    let mut out = Vec::new();
    let mut current: Paragraph = Vec::new();
    for line in body.lines().map(|l| l.trim_end()) {
        if line.trim().is_empty() {
            if !current.is_empty() {
                out.push(std::mem::take(&mut current));
            }
        } else {
            current.push(spans(line));
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

/// Characters a URL may hold as written in text (RFC 3986's, ASCII only): Japanese text right
/// after a URL (「https://example.jp/をご覧ください」) ends it.
fn is_url_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "-._~:/?#[]@!$&'()*+,;=%".contains(c)
}

/// Punctuation that ends a sentence rather than a URL, when it is the URL's last character.
fn is_trailing_punctuation(c: char) -> bool {
    ".,;:!?'\")]".contains(c)
}

fn spans(line: &str) -> Vec<Span> {
    let mut out = Vec::new();
    let mut text = String::new();
    let mut rest = line;
    while let Some(at) = rest.find("https://") {
        text.push_str(&rest[..at]);
        let candidate = &rest[at..];
        let end = candidate.find(|c: char| !is_url_char(c)).unwrap_or(candidate.len());
        let mut url = &candidate[..end];
        while let Some(last) = url.chars().last().filter(|c| is_trailing_punctuation(*c)) {
            // A closing parenthesis that closes one inside the URL stays.
            if last == ')' && url.matches('(').count() >= url.matches(')').count() {
                break;
            }
            url = &url[..url.len() - last.len_utf8()];
        }
        let valid = url::Url::parse(url).is_ok_and(|u| u.scheme() == "https" && u.host_str().is_some());
        if valid {
            if !text.is_empty() {
                out.push(Span { text: std::mem::take(&mut text), href: None });
            }
            out.push(Span { text: url.to_owned(), href: Some(url.to_owned()) });
            rest = &candidate[url.len()..];
        } else {
            text.push_str("https://");
            rest = &candidate["https://".len()..];
        }
    }
    text.push_str(rest);
    if !text.is_empty() {
        out.push(Span { text, href: None });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(s: &str) -> Span {
        Span { text: s.to_owned(), href: None }
    }

    fn link(s: &str) -> Span {
        Span { text: s.to_owned(), href: Some(s.to_owned()) }
    }

    #[test]
    fn blank_lines_split_paragraphs_and_single_breaks_stay_lines() {
        let p = paragraphs("一行目\n二行目\n\n\n  \n次の段落\r\n");
        assert_eq!(p, vec![vec![vec![text("一行目")], vec![text("二行目")]], vec![vec![text("次の段落")]]]);
        assert!(paragraphs("\n \n").is_empty());
    }

    #[test]
    fn https_urls_become_links_and_end_where_japanese_or_punctuation_starts() {
        assert_eq!(
            spans("詳しくはhttps://kenpo.example.jp/news?id=1をご覧ください。"),
            vec![text("詳しくは"), link("https://kenpo.example.jp/news?id=1"), text("をご覧ください。")]
        );
        assert_eq!(
            spans("See https://example.jp/a. Or (https://example.jp/b)."),
            vec![
                text("See "),
                link("https://example.jp/a"),
                text(". Or ("),
                link("https://example.jp/b"),
                text(").")
            ]
        );
        assert_eq!(
            spans("https://en.example.org/wiki/A_(b)"),
            vec![link("https://en.example.org/wiki/A_(b)")]
        );
    }

    #[test]
    fn nothing_but_https_is_linked_and_markup_stays_text() {
        for line in ["http://example.jp/", "javascript:alert(1)", "https://", "<a href=\"https:\">x</a>"] {
            assert!(spans(line).iter().all(|s| s.href.is_none()), "{line}");
        }
        let spans = spans("<script>alert(1)</script>https://example.jp/\"onmouseover=\"x");
        assert_eq!(spans[0], text("<script>alert(1)</script>"));
        assert_eq!(spans[1], link("https://example.jp/"), "a quote ends the URL");
    }
}
