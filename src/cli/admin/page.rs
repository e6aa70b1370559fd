//! The operator page: feeds and their health, today's digest with a preview per platform,
//! subscriptions by platform (resume from here), the LLM's usage against its budget, and forms
//! to add a feed or start an ingest. Server-rendered, no JavaScript; maud escapes every value.

use std::collections::BTreeMap;

use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::{Html, IntoResponse, Redirect, Response};
use chrono::Utc;
use maud::{DOCTYPE, Markup, html};
use podsift::deliver::{Limits, Message, TextUnit, parts};
use podsift::model::Digest;

use super::AdminState;
use crate::cli::output::{feed_title, when};
use crate::cli::subs::{last_delivery, latest_deliveries, podcast_names};

#[derive(serde::Deserialize)]
pub struct PageQuery {
    msg: Option<String>,
    /// The message's mark ([`AdminState::message_sig`]).
    sig: Option<String>,
}

const STYLE: &str = "body{font:15px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:72rem;padding:0 1rem;color:#222}\
table{border-collapse:collapse;width:100%;margin:.5rem 0 1rem}th,td{border-bottom:1px solid #ddd;padding:.35rem .5rem;\
text-align:left;vertical-align:top}th{background:#f4f4f4}.err{color:#a00}.msg{background:#eef6ee;border:1px solid #9c9;\
padding:.5rem 1rem;white-space:pre-wrap}pre{background:#f7f7f7;padding:.5rem;overflow-x:auto;white-space:pre-wrap}\
blockquote{margin:.3rem 0 .3rem 1rem;color:#555}form.inline{display:inline}";

fn layout(title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) }
                style { (STYLE) }
            }
            body { (body) }
        }
    }
}

pub fn login(problem: Option<&str>) -> Markup {
    layout(
        "podsift · sign in",
        html! {
            h1 { "podsift" }
            p { "This podsift asks for its admin token (PODSIFT_ADMIN_TOKEN)." }
            @if let Some(p) = problem { p.err { (p) } }
            form method="post" action="/login" {
                label { "Admin token " input type="password" name="token" autofocus; }
                " " button type="submit" { "Sign in" }
            }
        },
    )
}

pub async fn show(State(s): State<AdminState>, headers: HeaderMap, Query(q): Query<PageQuery>) -> Response {
    if !s.authorized(&headers) {
        return Redirect::to("/login").into_response();
    }
    // Reading the store for the page is blocking work: off the runtime's workers.
    let msg = q.msg.filter(|m| q.sig.as_deref().is_some_and(|sig| s.message_ok(m, sig)));
    let rendered = tokio::task::spawn_blocking(move || render(&s, msg.as_deref()).map(|p| p.into_string())).await;
    match rendered.map_err(anyhow::Error::from).and_then(|r| r) {
        Ok(page) => Html(page).into_response(),
        Err(e) => (axum::http::StatusCode::INTERNAL_SERVER_ERROR, format!("podsift admin: cannot read the store: {e}"))
            .into_response(),
    }
}

fn render(s: &AdminState, message: Option<&str>) -> anyhow::Result<Markup> {
    let (store, config) = (&s.store, &s.config);
    let now = Utc::now();
    let mut feeds = store.feeds()?;
    feeds.sort_by(|a, b| a.title.cmp(&b.title).then(a.url.cmp(&b.url)));
    let today = podsift::insight::digest::today(&config.digest, now);
    let digest = store.digest(today)?;
    let deliveries = latest_deliveries(store)?;
    let mut by_platform: BTreeMap<String, Vec<_>> = BTreeMap::new();
    for sub in store.subscriptions()? {
        by_platform.entry(sub.destination.platform.clone()).or_default().push(sub);
    }
    let usage = store.llm_usage(now.date_naive())?;
    let form_token = s.form_token.as_str();
    let body = html! {
        h1 { "podsift" }
        @if let Some(m) = message { div.msg role="status" { (m) } }

        h2 id="feeds" { "Feeds (" (feeds.len()) ")" }
        form method="post" action="/feeds" {
            input type="hidden" name="form_token" value=(form_token);
            label { "Add a feed " input type="text" name="url" size="60" placeholder="https://example.com/feed.xml" required; }
            " " button type="submit" { "Add" }
        }
        form method="post" action="/ingest" {
            input type="hidden" name="form_token" value=(form_token);
            button type="submit" { "Run an ingest now" }
        }
        table id="feed-table" {
            tr { th { "Podcast" } th { "Episodes" } th { "Last fetch" } th { "Last success" } th { "Last error" } th { "Next attempt" } }
            @for f in &feeds {
                tr {
                    td { b { (feed_title(f)) } br; small { (f.url) } }
                    td { (store.episode_count(&f.url).unwrap_or(0)) }
                    td { (when(f.last_fetch_at)) }
                    td { (when(f.last_ok_at)) }
                    td.err {
                        @if let Some(e) = &f.last_error { (e) " (" (f.consecutive_failures) " in a row)" }
                        @for w in &f.last_warnings { br; small { "warning: " (w) } }
                    }
                    td { @if f.next_attempt_at.is_some() { (when(f.next_attempt_at)) } }
                }
            }
        }

        h2 id="digest" { "Today's digest (" (today) ")" }
        @match &digest {
            None => p { "Not built yet: it is built at the day's first delivery, or now with " code { "podsift digest" } "." },
            Some(d) => {
                p { (d.insights.len()) " insights chosen from " (d.candidates) " candidates in " (d.episodes) " episodes." }
                ol id="digest-list" {
                    @for e in &d.insights {
                        li {
                            b { (e.text) }
                            br;
                            small { (e.podcast) " · " (e.episode) @if let Some(sp) = &e.speaker { " · " (sp) } " · " (e.moment()) }
                            @if podsift::render::quote_adds(e) { blockquote { "“" (e.quote) "”" } }
                        }
                    }
                }
                @if !d.reserve.is_empty() {
                    details id="digest-reserve" {
                        summary { "Reserve: " (d.reserve.len()) " more, for chats whose filters leave insights out" }
                        ol start=(d.insights.len() + 1) {
                            @for e in &d.reserve {
                                li { (e.text) " " small { "(" (e.podcast) ")" } }
                            }
                        }
                    }
                }
                @for (platform, preview) in previews(d, config.digest.size) {
                    details {
                        summary { "How " (platform) " shows it" }
                        pre { (preview) }
                    }
                }
            }
        }

        h2 id="subscriptions" { "Subscriptions" }
        @if by_platform.is_empty() { p { "None yet." } }
        @for (platform, subs) in &by_platform {
            h3 { (platform) @if !config.adapters.is_enabled(platform) { span.err { " — no " (platform) " adapter is enabled: not delivered" } } }
            table.subs {
                tr { th { "Destination" } th { "Schedule" } th { "Podcasts" } th { "State" } th { "Last digest" } }
                @for sub in subs {
                    tr {
                        td { (sub.destination.to_string()) br; small { "by " (sub.created_by) } }
                        td { (sub.schedule.describe()) }
                        td {
                            @match store.podcast_list(&sub.destination.key()).ok().flatten() {
                                None => "the operator's",
                                Some(list) => (podcast_names(store, &list).join(", ")),
                            }
                        }
                        td {
                            @match &sub.paused {
                                None => "active",
                                Some(reason) => {
                                    span.err { "paused: " (reason) }
                                    form.inline method="post" action="/subs/resume" {
                                        input type="hidden" name="form_token" value=(form_token);
                                        input type="hidden" name="destination" value=(sub.destination.to_string());
                                        " " button type="submit" { "Resume" }
                                    }
                                }
                            }
                        }
                        td { (last_delivery(&deliveries, sub).unwrap_or_default()) }
                    }
                }
            }
        }

        h2 id="llm" { "LLM usage today (UTC)" }
        @if config.llm.base_url.is_none() {
            p { "No LLM is configured (llm.base_url): the offline engine writes insights and answers." }
        } @else {
            table {
                tr { th { "Requests" } th { "Tokens" } th { "Budget" } th { "Handed to the offline engine" } th { "Quotes dropped" } th { "Transcriptions" } }
                tr {
                    td { (usage.requests) }
                    td { (usage.tokens()) }
                    td { (config.llm.max_tokens_per_day) " tokens a day" }
                    td { (usage.fallbacks) }
                    td { (usage.dropped_quotes) }
                    td { (usage.transcriptions) }
                }
            }
        }
    };
    Ok(layout("podsift · operator", body))
}

/// The digest as each platform's adapter renders it: the console's text, Telegram's HTML, and
/// the JSON that Slack and Discord are sent.
fn previews(d: &Digest, size: usize) -> Vec<(&'static str, String)> {
    let limits = Limits {
        max_message_len: 4000,
        unit: TextUnit::Chars,
        global_per_second: 1.0,
        per_destination_per_second: 1.0,
    };
    let parts = parts::split(&Message::Digest(d.clone()), &limits);
    // One platform's messages, each as its adapter renders it, one after another.
    let each = |render: &dyn Fn(&podsift::deliver::Part) -> String, gap: &str| {
        parts.iter().map(render).collect::<Vec<_>>().join(gap)
    };
    // Built without any chat adapter, only the console's is shown.
    #[allow(unused_mut)]
    let mut out = vec![("the console", podsift::render::digest(d, size))];
    #[cfg(feature = "telegram")]
    out.push(("Telegram", each(&|p| podsift::adapters::telegram::render(p).text, "\n\n")));
    #[cfg(feature = "slack")]
    out.push((
        "Slack",
        each(&|p| serde_json::to_string_pretty(&podsift::adapters::slack::render(p)).unwrap_or_default(), "\n"),
    ));
    #[cfg(feature = "discord")]
    out.push((
        "Discord",
        each(&|p| serde_json::to_string_pretty(&podsift::adapters::discord::render(p)).unwrap_or_default(), "\n"),
    ));
    let _ = each;
    out
}
