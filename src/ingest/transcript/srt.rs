//! SubRip: numbered cues with `hh:mm:ss,mmm` times; speakers as a `Name:` prefix.

use super::vtt::merge_continuations;
use super::{TranscriptError, parse_timestamp, split_speaker};
use crate::model::Segment;

pub fn parse(text: &str) -> Result<Vec<Segment>, TranscriptError> {
    let mut segments = Vec::new();
    let mut saw_timing = false;
    for block in super::cue_blocks(text) {
        let mut lines = block.lines().filter(|l| !l.trim().is_empty());
        let Some(timing) = lines.by_ref().find(|l| l.contains("-->")) else {
            continue;
        };
        saw_timing = true;
        let mut parts = timing.split("-->");
        let Some(start) = parts.next().and_then(parse_timestamp) else {
            continue;
        };
        let end = parts.next().and_then(|r| r.split_whitespace().next()).and_then(parse_timestamp).unwrap_or(f64::NAN);
        let body: Vec<&str> = lines.map(str::trim).collect();
        let mut text = body.join(" ");
        let mut speaker = None;
        if let Some((name, rest)) = split_speaker(&text) {
            speaker = Some(name.to_string());
            text = rest.to_string();
        }
        segments.push(Segment { start, end, speaker, text });
    }
    if !saw_timing {
        return Err(TranscriptError::Invalid {
            format: "srt",
            reason: "no cue timing line (00:00:01,000 --> 00:00:02,000) found".into(),
        });
    }
    Ok(merge_continuations(segments))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_blank_line_of_spaces_still_parts_two_cues() {
        let srt = "1\r\n00:00:00,000 --> 00:00:01,000\r\nHello there.\r\n \t \r\n2\r\n00:00:01,000 --> 00:00:02,000\r\nWorld, again.\r\n";
        let segs = parse(srt).unwrap();
        let texts: Vec<(f64, &str)> = segs.iter().map(|s| (s.start, s.text.as_str())).collect();
        assert_eq!(texts, [(0.0, "Hello there."), (1.0, "World, again.")]);
        let vtt = "WEBVTT\n  \n00:00.000 --> 00:01.000\n<v Ann>Hello there.\n   \n00:01.000 --> 00:02.000\n<v Bo>World, again.\n";
        let segs = super::super::vtt::parse(vtt).unwrap();
        let texts: Vec<(f64, &str)> = segs.iter().map(|s| (s.start, s.text.as_str())).collect();
        assert_eq!(texts, [(0.0, "Hello there."), (1.0, "World, again.")]);
    }

    #[test]
    fn speaker_prefix_carries_over() {
        let srt = "1\n00:00:00,179 --> 00:00:02,399\nTravis: When you first get\nstarted in podcasting, it's\n\n2\n00:00:02,400 --> 00:00:04,799\nalmost guaranteed.\n\n3\n00:00:05,000 --> 00:00:06,000\nAlban: Right.\n";
        let segs = parse(srt).unwrap();
        assert_eq!(segs.len(), 2);
        assert_eq!(segs[0].speaker.as_deref(), Some("Travis"));
        assert_eq!(segs[0].text, "When you first get started in podcasting, it's almost guaranteed.");
        assert_eq!(segs[0].start, 0.179);
        assert_eq!(segs[0].end, 4.799);
        assert_eq!(segs[1].speaker.as_deref(), Some("Alban"));
    }
}
