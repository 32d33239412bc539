//! Guided lessons ([`crate::experiment::lessons`]): the open lesson's steps above the
//! playground, and the list of all lessons.

use leptos::prelude::*;

use crate::experiment::lessons::{Lesson, LESSONS};

/// The steps of the lesson the link opened.
#[component]
pub fn LessonPanel(
    /// The lesson.
    lesson: &'static Lesson,
) -> impl IntoView {
    let steps = lesson
        .steps
        .iter()
        .map(|s| view! { <li>{*s}</li> })
        .collect_view();
    view! {
        <section class="lesson" data-testid="lesson" aria-labelledby="lesson-title">
            <h2 id="lesson-title">"Lesson "{lesson.title}</h2>
            <p class="goal">{lesson.goal}</p>
            <ol data-testid="lesson-steps">{steps}</ol>
            <p class="note"><a href="./#lessons">"All lessons"</a></p>
        </section>
    }
}

/// Every lesson as a link (a collapsible panel; open when `open`).
#[component]
pub fn LessonList(
    /// Start expanded.
    open: bool,
) -> impl IntoView {
    let items = LESSONS
        .iter()
        .map(|l| {
            view! {
                <li><a href=format!("./?{}", l.link()) data-testid=format!("lesson-link-{}", l.id)>{l.title}</a>
                    " — "<span class="goal">{l.goal}</span></li>
            }
        })
        .collect_view();
    view! {
        <details class="lessons" id="lessons" data-testid="lesson-list" open=open>
            <summary>"Lessons: a guided tour in six steps"</summary>
            <ol>{items}</ol>
        </details>
    }
}
