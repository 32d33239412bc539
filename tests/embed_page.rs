//! The example course page (`www/embed.html`) embeds three lessons: every frame's link decodes
//! without problems, names a lesson, and hides only controls that exist.

use metaplay::experiment::embed::controls;
use metaplay::experiment::url::decode;

const PAGE: &str = include_str!("../www/embed.html");

fn frame_links() -> Vec<String> {
    PAGE.split("<iframe")
        .skip(1)
        .map(|frame| {
            let src = frame.split("src=\"").nth(1).expect("a src");
            let src = &src[..src.find('"').expect("closing quote")];
            let query = src.split_once('?').expect("a query").1;
            query.replace("&amp;", "&")
        })
        .collect()
}

#[test]
fn the_course_page_embeds_three_lessons_whose_links_are_clean() {
    let links = frame_links();
    assert_eq!(links.len(), 3);
    for q in &links {
        let (e, problems) = decode(q);
        assert!(problems.is_empty(), "{q}: {problems:?}");
        assert!(e.view.embed, "{q}");
        assert!(e.view.lesson.is_some(), "{q}");
        let names: Vec<&str> = controls(e.family).into_iter().map(|c| c.0).collect();
        for h in &e.view.hide {
            assert!(
                names.contains(&h.as_str()),
                "{q}: `{h}` is not a control of {names:?}"
            );
        }
        if e.view.controls {
            assert!(e.view.hide.len() < names.len(), "{q}: keeps no control");
        }
    }
}
