//! The "Reproduced from a link" notice: shown only when the link names the version that made
//! it (`app=`), and then says whether it is this one.

use metaplay::experiment::state::ViewState;
use metaplay::experiment::url::decode;

fn note(query: &str, this: &str) -> Option<String> {
    decode(query).0.view.link_note(this)
}

#[test]
fn a_hand_typed_query_gets_no_notice() {
    assert_eq!(note("?task=bandit", "0.1.0"), None);
    assert_eq!(note("v=1&task=sine&k=5", "0.1.0"), None);
    assert_eq!(ViewState::default().link_note("0.1.0"), None);
}

#[test]
fn a_link_from_this_version_says_so() {
    assert_eq!(
        note("v=1&task=sine&app=0.1.0", "0.1.0").as_deref(),
        Some("Reproduced from a link (made with this version, Metaplay 0.1.0; link format v1)")
    );
}

#[test]
fn a_link_from_another_version_warns() {
    assert_eq!(
        note("v=1&task=bandit&app=0.0.9", "0.1.0").as_deref(),
        Some(
            "Reproduced from a link (made with Metaplay 0.0.9; this is Metaplay 0.1.0, so \
             results may differ; link format v1)"
        )
    );
}

#[test]
fn a_malformed_version_is_no_version() {
    assert_eq!(note("v=1&app=%3Cscript%3E", "0.1.0"), None);
}
