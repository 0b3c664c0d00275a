//! The recommended client apps (mod_register_apps) as cards on the invite
//! pages: which button each app gets, where it leads, and the URL-encoding
//! of the invite URI in "magic" store links.
//!
//! Pure functions of the configured list, so the choice of link for every
//! kind of app is unit-tested here rather than through HTML.

use roost_common::config::AppConfig;

/// One app as shown on a page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppCard {
    pub name: String,
    /// Prosody's app id, e.g. `siskin-im`; `?app=` on the registration
    /// page names an app with it.
    pub id: String,
    pub platforms: Vec<Platform>,
    pub text: String,
    /// In the order shown; the last one is the main action.
    pub actions: Vec<Action>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Platform {
    pub name: String,
    /// For CSS classes, as Prosody forms them: `iOS` → `ios`.
    pub class: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Action {
    pub label: String,
    pub href: String,
    /// Drawn as the filled button; others are outlined.
    pub primary: bool,
}

/// What the page offers, which decides each app's buttons.
#[derive(Debug, Clone, Copy)]
pub enum Offer<'a> {
    /// An invite that lets its holder register: `uri` is the invite's
    /// `xmpp:` URI, `register` the (relative) web registration page.
    Register { uri: &'a str, register: &'a str },
    /// A contact-only invite: apps can open `uri`, nobody registers here.
    Contact { uri: &'a str },
    /// After web registration: the account exists, only downloads remain.
    Download,
}

/// The cards for `apps`, in the configured order.
pub fn cards(apps: &[AppConfig], offer: Offer<'_>) -> Vec<AppCard> {
    apps.iter().map(|app| card(app, offer)).collect()
}

fn card(app: &AppConfig, offer: Offer<'_>) -> AppCard {
    let id = app_id(&app.name);
    let action = |label: String, href: String, primary: bool| Action {
        label,
        href,
        primary,
    };
    let install = |primary| action("Install".into(), app.download_url.clone(), primary);
    let magic = |uri: &str| magic_link(app, uri);
    let actions = match offer {
        // The store link hands the invite to the app once it is installed:
        // one tap does everything.
        Offer::Register { uri, .. } | Offer::Contact { uri } if magic(uri).is_some() => {
            vec![action(
                format!("Install {}", app.name),
                magic(uri).unwrap_or_default(),
                true,
            )]
        }
        // The app registers with the token itself: install, then open.
        Offer::Register { uri, .. } | Offer::Contact { uri } if app.supports_preauth_uri => vec![
            install(false),
            action("Open invite".into(), uri.to_owned(), true),
        ],
        // The app cannot use the token: create the account here first.
        Offer::Register { register, .. } => vec![
            install(false),
            action("Register".into(), format!("{register}?app={id}"), true),
        ],
        Offer::Contact { .. } => vec![install(true)],
        Offer::Download => vec![action(
            format!("Get {}", app.name),
            app.download_url.clone(),
            true,
        )],
    };
    AppCard {
        name: app.name.clone(),
        platforms: app
            .platforms
            .iter()
            .map(|p| Platform {
                name: p.clone(),
                class: app_id(p),
            })
            .collect(),
        text: app.text.clone(),
        id,
        actions,
    }
}

/// The app's magic link for `uri`, if it has one that is a web link (a
/// `javascript:` or other scheme from a config typo is never offered).
pub fn magic_link(app: &AppConfig, uri: &str) -> Option<String> {
    let template = app.magic_link.as_deref()?;
    if !(template.starts_with("https://") || template.starts_with("http://")) {
        return None;
    }
    Some(template.replace("{uri}", &url_encode(uri)))
}

/// Prosody's app id: lower-case, each run of other characters than letters
/// and digits made one `-`, none at either end ("Siskin IM" → `siskin-im`).
pub fn app_id(name: &str) -> String {
    let mut id = String::with_capacity(name.len());
    for c in name.chars() {
        if c.is_alphanumeric() {
            id.extend(c.to_lowercase());
        } else if !id.is_empty() && !id.ends_with('-') {
            id.push('-');
        }
    }
    if id.ends_with('-') {
        id.pop();
    }
    id
}

/// Percent-encodes everything but RFC 3986's unreserved characters, with
/// lower-case hex as Prosody writes it (`xmpp%3aexample.test%3f…`).
pub fn url_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02x}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const URI: &str = "xmpp:example.test?register;preauth=TOKEN";

    fn app(name: &str, preauth: bool, magic: Option<&str>) -> AppConfig {
        AppConfig {
            name: name.into(),
            platforms: vec!["Android".into(), "macOS".into()],
            text: "An app.".into(),
            download_url: format!("https://apps.example/{name}"),
            supports_preauth_uri: preauth,
            magic_link: magic.map(Into::into),
        }
    }

    fn hrefs(card: &AppCard) -> Vec<(&str, bool)> {
        card.actions
            .iter()
            .map(|a| (a.href.as_str(), a.primary))
            .collect()
    }

    #[test]
    fn url_encoding_is_prosodys() {
        assert_eq!(
            url_encode(URI),
            "xmpp%3aexample.test%3fregister%3bpreauth%3dTOKEN"
        );
        assert_eq!(url_encode("a-b_c.d~e"), "a-b_c.d~e");
        assert_eq!(url_encode("a b&c/é"), "a%20b%26c%2f%c3%a9");
    }

    #[test]
    fn ids_are_prosodys() {
        assert_eq!(app_id("Siskin IM"), "siskin-im");
        assert_eq!(app_id("Conversations"), "conversations");
        assert_eq!(app_id("  Beagle -- IM! "), "beagle-im");
        assert_eq!(app_id("iOS"), "ios");
        assert_eq!(app_id("Windows Phone"), "windows-phone");
        assert_eq!(app_id("!!"), "");
    }

    #[test]
    fn magic_link_carries_the_encoded_uri() {
        let a = app(
            "Conversations",
            true,
            Some("https://play.example/details?id=x&referrer={uri}"),
        );
        assert_eq!(
            magic_link(&a, URI).unwrap(),
            "https://play.example/details?id=x&referrer=xmpp%3aexample.test%3fregister%3bpreauth%3dTOKEN"
        );
        let card = card(
            &a,
            Offer::Register {
                uri: URI,
                register: "TOKEN/register",
            },
        );
        assert_eq!(
            hrefs(&card),
            [(magic_link(&a, URI).unwrap().as_str(), true)]
        );
        assert_eq!(card.actions[0].label, "Install Conversations");
        // Not a web link: ignored, the app is treated as if it had none.
        let a = app("X", true, Some("javascript:alert(1)//{uri}"));
        assert_eq!(magic_link(&a, URI), None);
    }

    #[test]
    fn each_kind_of_app_gets_its_button() {
        let register = Offer::Register {
            uri: URI,
            register: "TOKEN/register",
        };
        let preauth = app("Monal", true, None);
        assert_eq!(
            hrefs(&card(&preauth, register)),
            [("https://apps.example/Monal", false), (URI, true)]
        );
        let plain = app("Siskin IM", false, None);
        assert_eq!(
            hrefs(&card(&plain, register)),
            [
                ("https://apps.example/Siskin IM", false),
                ("TOKEN/register?app=siskin-im", true)
            ]
        );
        // A contact-only invite never points at registration.
        let contact = Offer::Contact { uri: URI };
        assert_eq!(
            hrefs(&card(&plain, contact)),
            [("https://apps.example/Siskin IM", true)]
        );
        assert_eq!(
            hrefs(&card(&preauth, contact)),
            [("https://apps.example/Monal", false), (URI, true)]
        );
        assert_eq!(
            hrefs(&card(&preauth, Offer::Download)),
            [("https://apps.example/Monal", true)]
        );
    }

    #[test]
    fn cards_keep_order_and_platform_classes() {
        let apps = [app("B", false, None), app("A", true, None)];
        let cards = cards(&apps, Offer::Download);
        assert_eq!(
            cards.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(),
            ["B", "A"]
        );
        assert_eq!(
            cards[0]
                .platforms
                .iter()
                .map(|p| (p.name.as_str(), p.class.as_str()))
                .collect::<Vec<_>>(),
            [("Android", "android"), ("macOS", "macos")]
        );
    }
}
