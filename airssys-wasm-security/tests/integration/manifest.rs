//! Manifests: bad entries produce errors that name the component and the entry, never a panic.

use airssys_wasm_security::{
    CapabilityError, CapabilitySpec, FilePermission, FileSpec, ManifestError, parse_capabilities,
};
use proptest::prelude::*;
use serde::Deserialize;

/// The full chain of an error, joined like a reporter would.
fn chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

#[test]
fn an_unknown_kind_is_named_with_its_component() {
    let err = parse_capabilities("echo", r#"filesystem = ["/data"]"#).unwrap_err();
    assert!(
        matches!(&err, ManifestError::UnknownKind { component, kind } if component == "echo" && kind == "filesystem")
    );
    assert!(
        err.to_string()
            .starts_with(r#"component "echo": capabilities.filesystem: unknown capability kind"#),
        "{err}"
    );
}

#[test]
fn a_malformed_host_pattern_names_the_entry_and_its_reason() {
    let err = parse_capabilities(
        "echo",
        r#"network = ["api.example.com:443", "*.exa mple.com:80"]"#,
    )
    .unwrap_err();
    assert!(matches!(
        &err,
        ManifestError::InvalidEntry {
            kind: "network",
            index: 1,
            source: CapabilityError::MalformedHostPattern { .. },
            ..
        }
    ));
    let text = chain(&err);
    assert!(
        text.starts_with(
            r#"component "echo": capabilities.network[1]: malformed host pattern "*.exa mple.com:80": "#
        ),
        "{text}"
    );
}

#[test]
fn a_relative_path_names_the_entry() {
    let text = r#"files = [ { path = "/ok", access = "read" }, { path = "data/out", access = "read-write" } ]"#;
    let err = parse_capabilities("writer", text).unwrap_err();
    assert!(matches!(
        &err,
        ManifestError::InvalidEntry {
            kind: "files",
            index: 1,
            source: CapabilityError::RelativePath { .. },
            ..
        }
    ));
    assert!(chain(&err).contains(r#"relative path "data/out""#));
}

#[test]
fn other_malformed_entries_name_their_list() {
    for (text, kind, index) in [
        (r#"network = ["a.com:9000-80"]"#, "network", 0),
        (r#"network = ["a.com:1", "::1:80"]"#, "network", 1),
        (r#"network = ["a.com"]"#, "network", 0),
        (
            r#"files = [ { path = "/a/../b", access = "read" } ]"#,
            "files",
            0,
        ),
        (r#"send = ["ok", "bad name"]"#, "send", 1),
        (r#"request = [""]"#, "request", 0),
        (r#"publish = ["a.>.b"]"#, "publish", 0),
        (r#"subscribe = ["a", "b..c"]"#, "subscribe", 1),
    ] {
        match parse_capabilities("c", text) {
            Err(ManifestError::InvalidEntry {
                component,
                kind: k,
                index: i,
                ..
            }) => {
                assert_eq!((component.as_str(), k, i), ("c", kind, index), "{text}");
            }
            other => panic!("{text}: unexpected {other:?}"),
        }
    }
}

#[test]
fn shape_errors_are_parse_errors_that_name_the_component_and_key() {
    for (text, needle) in [
        (
            r#"files = [ { path = "/a", access = "execute" } ]"#,
            "execute",
        ),
        (
            r#"files = [ { path = "/a", access = "read", mode = 1 } ]"#,
            "mode",
        ),
        (r#"network = "a.com:80""#, "network"),
        ("network = [", ""),
    ] {
        let err = parse_capabilities("echo", text).unwrap_err();
        assert!(matches!(err, ManifestError::Parse { .. }), "{text}");
        let text_chain = chain(&err);
        assert!(
            text_chain.starts_with(r#"component "echo": "#),
            "{text_chain}"
        );
        assert!(text_chain.contains(needle), "{text_chain}");
    }
}

#[test]
fn the_spec_embeds_in_a_host_manifest_and_rejects_unknown_kinds_there() {
    #[derive(Deserialize)]
    struct Manifest {
        component: Component,
    }
    #[derive(Deserialize)]
    struct Component {
        capabilities: CapabilitySpec,
    }
    let good = r#"
        [component.capabilities]
        files = [ { path = "/data/in", access = "read" } ]
        publish = [ "events.*" ]
    "#;
    let m: Manifest = toml::from_str(good).unwrap();
    assert_eq!(
        m.component.capabilities.files,
        vec![FileSpec::new("/data/in", FilePermission::Read)]
    );
    let caps = m.component.capabilities.build("echo").unwrap();
    assert!(caps.check_publish("events.a").is_allowed());

    let bad = "[component.capabilities]\nsockets = []\n";
    let err = toml::from_str::<Manifest>(bad).err().unwrap();
    assert!(err.to_string().contains("sockets"), "{err}");
}

#[test]
fn a_spec_serializes_back_to_the_same_toml_shape() {
    let spec = parse_capabilities(
        "c",
        r#"files = [ { path = "/a", access = "read-write" } ]
           network = ["*.Example.com:1-2"]"#,
    )
    .unwrap()
    .to_spec();
    let text = toml::to_string(&spec).unwrap();
    assert!(text.contains(r#"access = "read-write""#), "{text}");
    assert!(text.contains(r#""*.example.com:1-2""#), "{text}");
    let again = CapabilitySpec::from_toml("c", &text).unwrap();
    assert_eq!(again, spec);
}

proptest! {
    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,200}") {
        let _ = parse_capabilities("fuzz", &text);
    }

    #[test]
    fn arbitrary_entries_never_panic(
        entry in "[ -~]{0,40}",
        kind in prop::sample::select(vec!["network", "send", "request", "publish", "subscribe"]),
    ) {
        let text = format!("{kind} = [{}]", toml::Value::String(entry));
        let _ = parse_capabilities("fuzz", &text);
    }

    #[test]
    fn arbitrary_file_paths_never_panic(path in "[ -~]{0,40}") {
        let text = format!("files = [ {{ path = {}, access = \"read\" }} ]", toml::Value::String(path));
        let _ = parse_capabilities("fuzz", &text);
    }
}
