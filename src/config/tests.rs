//! The configuration's validation and defaults.

use super::*;

fn builder() -> SessionConfigBuilder {
    SessionConfig::builder([[9u8; 32]])
}

#[test]
fn defaults_are_secure_and_valid() {
    let c = builder().build().unwrap();
    assert!(c.secure && c.http_only);
    assert_eq!(c.same_site, SameSite::Lax);
    assert_eq!(c.cookie_only_threshold, 2048);
    assert_eq!(c.touch_interval, Duration::from_secs(300));
    assert_eq!(c.revocation_check_interval, Duration::from_secs(10));
    assert!(!c.store_bound_sessions);
    assert!(!format!("{c:?}").contains("9, 9"));
}

#[test]
fn injection_in_name_path_domain_is_rejected() {
    for name in ["", "a;b", "a\rb", "a\nb", "a b", "a=b"] {
        assert!(
            matches!(
                builder().cookie_name(name).build(),
                Err(Error::Config { .. })
            ),
            "{name:?}"
        );
    }
    for path in ["/a;b", "/a\r", "/a\n", "relative"] {
        assert!(
            matches!(builder().path(path).build(), Err(Error::Config { .. })),
            "{path:?}"
        );
    }
    for domain in ["a.com;x", "a.com\r\n", "", "a com"] {
        assert!(
            matches!(builder().domain(domain).build(), Err(Error::Config { .. })),
            "{domain:?}"
        );
    }
}

#[test]
fn short_keys_and_inconsistent_sizes_are_rejected() {
    assert!(SessionConfig::builder([[0u8; 31]]).build().is_err());
    assert!(builder().store_key_secret([1u8; 16]).build().is_err());
    assert!(builder().cookie_only_threshold(100_000).build().is_err());
    assert!(
        builder()
            .same_site(SameSite::None)
            .secure(false)
            .build()
            .is_err()
    );
    assert!(
        builder()
            .touch_interval(Duration::from_secs(24 * 3600))
            .build()
            .is_err()
    );
    assert!(builder().absolute_timeout(Duration::ZERO).build().is_err());
    assert!(builder().max_cookies(0).build().is_err());
}

#[test]
fn expiry_is_the_earlier_timeout() {
    let c = builder()
        .idle_timeout(Some(Duration::from_secs(100)))
        .absolute_timeout(Duration::from_secs(1000))
        .build()
        .unwrap();
    assert_eq!(c.expiry(0, 50), 150);
    assert_eq!(c.expiry(0, 950), 1000);
    let no_idle = builder().idle_timeout(None).build().unwrap();
    assert_eq!(no_idle.expiry(10, 10), 10 + 7 * 24 * 3600);
}
