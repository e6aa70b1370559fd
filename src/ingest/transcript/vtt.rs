//! WebVTT: cues with `<v Speaker>` voice tags, CRLF or LF line endings.

use super::html::decode_entities;
use super::{TranscriptError, parse_timestamp};
use crate::model::Segment;

pub fn parse(text: &str) -> Result<Vec<Segment>, TranscriptError> {
    let text = text.replace("\r\n", "\n").replace('\r', "\n");
    if !text.trim_start().starts_with("WEBVTT") {
        return Err(TranscriptError::Invalid { format: "vtt", reason: "it does not start with WEBVTT".into() });
    }
    let mut segments = Vec::new();
    for block in super::cue_blocks(&text) {
        let mut lines = block.lines().filter(|l| !l.trim().is_empty());
        let Some(timing) = lines.by_ref().find(|l| l.contains("-->")) else {
            continue; // header, NOTE, STYLE, REGION or a stray block
        };
        let mut parts = timing.split("-->");
        let start = parts.next().and_then(parse_timestamp);
        let end = parts.next().and_then(|r| r.split_whitespace().next()).and_then(parse_timestamp);
        let Some(start) = start else { continue };
        let mut speaker = None;
        let mut words = Vec::new();
        for line in lines {
            let (sp, t) = strip_cue_tags(line);
            if speaker.is_none() {
                speaker = sp;
            }
            if !t.is_empty() {
                words.push(t);
            }
        }
        let mut text = decode_entities(&words.join(" "));
        // Many captioners write the speaker as SRT does, "Name: words", without a voice tag.
        if speaker.is_none() {
            if let Some((name, rest)) = super::split_speaker(&text) {
                (speaker, text) = (Some(name.to_string()), rest.to_string());
            }
        }
        segments.push(Segment { start, end: end.unwrap_or(f64::NAN), speaker, text });
    }
    Ok(merge_continuations(segments))
}

/// Removes cue markup (`<v Name>`, `<c>`, `<i>`, inline timestamps) and returns the voice name.
fn strip_cue_tags(line: &str) -> (Option<String>, String) {
    let mut speaker = None;
    let mut out = String::new();
    let mut rest = line;
    while let Some(lt) = rest.find('<') {
        out.push_str(&rest[..lt]);
        let Some(gt) = rest[lt..].find('>') else {
            out.push_str(&rest[lt..]);
            rest = "";
            break;
        };
        let tag = &rest[lt + 1..lt + gt];
        if let Some(v) = tag.strip_prefix('v').filter(|v| v.starts_with([' ', '.'])) {
            // `<v.loud Name>` carries classes before the space.
            let name = v.split_once(' ').map(|(_, n)| n).unwrap_or("").trim();
            if !name.is_empty() {
                speaker = Some(decode_entities(name));
            }
        }
        rest = &rest[lt + gt + 1..];
    }
    out.push_str(rest);
    (speaker, out.split_whitespace().collect::<Vec<_>>().join(" "))
}

/// Captions break sentences across cues; joins consecutive cues of one speaker until a
/// sentence ends, so later stages see whole sentences with the first cue's start time.
pub(super) fn merge_continuations(segments: Vec<Segment>) -> Vec<Segment> {
    let mut out: Vec<Segment> = Vec::new();
    let mut current_speaker: Option<String> = None;
    for mut seg in segments {
        if seg.speaker.is_none() {
            seg.speaker = current_speaker.clone();
        }
        current_speaker = seg.speaker.clone();
        if let Some(last) = out.last_mut() {
            let open = !last.text.trim_end().ends_with(['.', '?', '!', '…', '"']);
            let gap_ok = seg.start - last.end <= 2.0 || !last.end.is_finite();
            if open && gap_ok && last.speaker == seg.speaker && last.text.len() < 2000 {
                last.text.push(' ');
                last.text.push_str(&seg.text);
                if seg.end.is_finite() {
                    last.end = seg.end;
                }
                continue;
            }
        }
        out.push(seg);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_prefix_is_the_speaker_when_there_is_no_voice_tag() {
        let vtt = "WEBVTT\n\n00:00.000 --> 00:02.000\nAmal Hussein: Caching saved us.\n\n00:02.000 --> 00:04.000\nAt 10:30 we shipped it.\n";
        let segs = parse(vtt).unwrap();
        assert_eq!(segs[0].speaker.as_deref(), Some("Amal Hussein"));
        assert_eq!(segs[0].text, "Caching saved us.");
        // A time is no speaker.
        assert!(segs.iter().any(|s| s.text.contains("At 10:30 we shipped it.")), "{segs:?}");
    }

    #[test]
    fn voice_tags_crlf_and_entities() {
        let vtt = "WEBVTT\r\n\r\n00:00:00.000 --> 00:00:02.760\r\n<v Sarah>In today's episode, you\r\n\r\n00:00:02.760 --> 00:00:06.090\r\n<v Sarah>learn Q&amp;A.\r\n\r\nNOTE a comment\r\n\r\n00:00:07.000 --> 00:00:08.000 align:start\r\n<v.loud Gillian>Hi <i>there</i>.\r\n";
        let segs = parse(vtt).unwrap();
        assert_eq!(segs.len(), 2);
        assert_eq!(segs[0].speaker.as_deref(), Some("Sarah"));
        assert_eq!(segs[0].text, "In today's episode, you learn Q&A.");
        assert_eq!(segs[0].end, 6.09);
        assert_eq!(segs[1].speaker.as_deref(), Some("Gillian"));
        assert_eq!(segs[1].text, "Hi there.");
        assert_eq!(segs[1].start, 7.0);
    }

    #[test]
    fn not_vtt_is_an_error() {
        assert!(parse("hello").is_err());
    }
}
