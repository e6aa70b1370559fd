//! Speech-to-text for episodes that publish no transcript: the enclosure is streamed to a temp
//! file under a size cap, split with ffmpeg when it is over the 25 MB request limit, and each
//! piece sent through `create_raw` (many compatible servers omit the `usage` field the typed
//! call requires). Segments come from the verbose JSON, offset by the pieces before them.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_openai::types::audio::{AudioInput, AudioResponseFormat, CreateTranscriptionRequestArgs};
use futures_util::future::BoxFuture;
use serde::Deserialize;

use super::{Endpoint, LlmClient, LlmError};
use crate::config::IngestConfig;
use crate::ingest::fetch::{Document, Fetcher, Limit};
use crate::ingest::{TranscribeError, Transcriber};
use crate::model::{Episode, Segment};

/// One transcription request may carry at most this much audio.
pub const MAX_REQUEST_BYTES: u64 = 25 * 1024 * 1024;
/// Length of the pieces ffmpeg cuts long audio into, in seconds.
const PIECE_SECONDS: u32 = 600;
/// Pieces are never cut shorter than this: audio that needs shorter ones to fit a request is
/// beyond any podcast's bitrate.
const MIN_PIECE_SECONDS: u32 = 30;

/// The verbose JSON transcription, as far as podsift reads it (no `usage` needed).
#[derive(Deserialize)]
struct Verbose {
    #[serde(default)]
    text: String,
    duration: Option<f64>,
    #[serde(default)]
    segments: Vec<VerboseSegment>,
}

#[derive(Deserialize)]
struct VerboseSegment {
    start: f64,
    end: f64,
    text: String,
}

/// Reads one verbose JSON transcription of a piece of audio that starts `offset` seconds into
/// the episode: its segments on the episode's clock, and the piece's length. What the server
/// sends is untrusted: segments without text or with times that are not finite, negative or past
/// a day are left out, an end before its start is taken as the start, and a missing or nonsense
/// duration falls back to the last segment's end.
pub fn read_verbose(raw: &[u8], offset: f64) -> Result<(Vec<Segment>, f64), String> {
    const DAY: f64 = 86_400.0;
    let v: Verbose =
        serde_json::from_slice(raw).map_err(|e| format!("the transcription is not the JSON asked for: {e}"))?;
    let sane = |t: f64| t.is_finite() && (0.0..=DAY).contains(&t);
    let mut segments = Vec::new();
    for s in &v.segments {
        let text = s.text.trim();
        if text.is_empty() || !sane(s.start) {
            continue;
        }
        let end = if sane(s.end) { s.end.max(s.start) } else { s.start };
        segments.push(Segment { start: offset + s.start, end: offset + end, speaker: None, text: text.to_string() });
    }
    let last_end = segments.last().map(|s| s.end - offset);
    let length = v.duration.filter(|d| sane(*d)).or(last_end).unwrap_or(0.0);
    if v.segments.is_empty() && !v.text.trim().is_empty() {
        segments.push(Segment { start: offset, end: offset + length, speaker: None, text: v.text.trim().to_string() });
    }
    Ok((segments, length))
}

pub struct LlmTranscriber {
    pub llm: Arc<LlmClient>,
    /// The ffmpeg program used to split long audio.
    pub ffmpeg: PathBuf,
    /// Requests larger than this are split (the API's limit unless a server allows more).
    pub max_request_bytes: u64,
    fetcher: Fetcher,
}

/// A digest of the audio downloaded into `dir` (every file there, in name order, which is the
/// whole episode before it is split) and of the server it goes to.
async fn audio_digest(dir: &Path, server: &str) -> Result<String, String> {
    use sha2::{Digest, Sha256};
    let mut names = Vec::new();
    let mut entries = tokio::fs::read_dir(dir).await.map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
    while let Ok(Some(entry)) = entries.next_entry().await {
        names.push(entry.path());
    }
    names.sort();
    let mut h = Sha256::new();
    h.update(server.as_bytes());
    for name in names.iter().filter(|n| n.file_stem().is_some_and(|s| s == "episode")) {
        let mut file = tokio::fs::File::open(name).await.map_err(|e| format!("cannot read {}: {e}", name.display()))?;
        let mut buf = vec![0u8; 1 << 16];
        loop {
            let n = tokio::io::AsyncReadExt::read(&mut file, &mut buf)
                .await
                .map_err(|e| format!("cannot read {}: {e}", name.display()))?;
            if n == 0 {
                break;
            }
            h.update(&buf[..n]);
        }
    }
    Ok(crate::http::hex(&h.finalize()[..12]))
}

/// Where an episode's transcribed pieces are kept between attempts (`rest` names one piece):
/// under the episode's id first, so they go with the episode.
fn pieces_key(episode: &Episode, model: &str, rest: &str) -> String {
    format!("{}:stt:{model}:{rest}", episode.id)
}

/// The longest one transcription request may take (an upload of up to 25 MB of audio).
const TRANSCRIPTION_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(15 * 60);

impl LlmTranscriber {
    pub fn new(llm: Arc<LlmClient>) -> Result<LlmTranscriber, String> {
        // Audio is large: a generous total timeout for the download.
        let ingest = IngestConfig { timeout_secs: 30 * 60, ..IngestConfig::default() };
        let fetcher = Fetcher::new(&ingest).map_err(|e| e.to_string())?;
        Ok(LlmTranscriber { llm, ffmpeg: PathBuf::from("ffmpeg"), max_request_bytes: MAX_REQUEST_BYTES, fetcher })
    }

    async fn run(&self, episode: &Episode) -> Result<Vec<Segment>, TranscribeError> {
        let not_now = |e: LlmError| TranscribeError::NotNow(e.to_string());
        self.llm.check_key(Endpoint::Transcription).map_err(not_now)?;
        // Taken before the download: feeds transcribing side by side see each other's.
        let mut begun = self.llm.begin_transcription().map_err(not_now)?;
        let model = self
            .llm
            .config
            .transcription_model
            .clone()
            .ok_or_else(|| TranscribeError::Failed("llm.transcription_model is not set".into()))?;
        let url = episode
            .enclosure_url
            .as_deref()
            .ok_or_else(|| TranscribeError::Failed("the episode has no audio enclosure".into()))?;
        // Its own directory each time: two transcriptions of one episode at once (an ingest
        // asked for while the service's runs) must not cut or remove each other's pieces.
        static ATTEMPTS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let attempt = ATTEMPTS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("podsift-audio-{}-{attempt}-{}", std::process::id(), episode.id));
        tokio::fs::create_dir_all(&dir)
            .await
            .map_err(|e| TranscribeError::Failed(format!("cannot create {}: {e}", dir.display())))?;
        // Removed however this ends: also when a stopping service drops the work part-way,
        // which would leave up to `max_audio_bytes` and its pieces behind at every such stop.
        let _audio = RemovedOnDrop(dir.clone());
        let result = self.transcribe_in(&dir, url, episode, &model, &mut begun).await;
        match result {
            Ok(segments) => {
                // The pieces kept for a next attempt are not needed any more.
                if let Err(e) = self.llm.store().remove_llm_cache(&pieces_key(episode, &model, "")) {
                    tracing::warn!("cannot remove an episode's transcribed pieces: {e}");
                }
                Ok(segments)
            }
            // Refused here: the episode's audio is not at fault.
            Err(e) => match self.llm.check_key(Endpoint::Transcription) {
                Err(refused) => Err(not_now(refused)),
                Ok(()) => Err(TranscribeError::Failed(e)),
            },
        }
    }

    async fn transcribe_in(
        &self,
        dir: &Path,
        url: &str,
        episode: &Episode,
        model: &str,
        begun: &mut super::Transcription<'_>,
    ) -> Result<Vec<Segment>, String> {
        let feed_private_origin = episode.feed_private_origin;
        let ext = audio_extension(url);
        let audio = dir.join(format!("episode.{ext}"));
        // The audio's address comes from whoever wrote the feed.
        let fetcher = self.fetcher.for_links_of(feed_private_origin);
        let size = fetcher
            .download_to(url, &audio, Limit { bytes: self.llm.config.max_audio_bytes, what: Document::Audio })
            .await
            .map_err(|e| e.to_string())?;
        // The pieces' length is part of what was heard: audio cut again into shorter pieces
        // (another podsift, another limit) never takes a kept piece of another length.
        let (pieces, piece_secs) =
            if size > self.max_request_bytes { self.split(&audio, size).await? } else { (vec![audio], 0) };
        // Pieces are kept by what was heard: the audio's own bytes and the server that heard
        // them, so an episode re-uploaded with the same length is never stitched from old pieces.
        let heard = audio_digest(dir, &self.llm.config.base_url.clone().unwrap_or_default()).await?;
        let mut segments = Vec::new();
        let mut offset = 0.0;
        for (i, piece) in pieces.into_iter().enumerate() {
            // A piece transcribed by an earlier attempt (one whose later piece failed) is not
            // paid for again: kept by the audio's bytes, the server and the pieces' length, so
            // changed or otherwise cut audio is transcribed anew.
            let key = pieces_key(episode, model, &format!("{heard}:{piece_secs}:{i}"));
            let kept = self.llm.store().llm_cache(&key).ok().flatten().and_then(|v| serde_json::to_vec(&v).ok());
            if let Some(raw) = kept {
                if let Ok((piece_segments, length)) = read_verbose(&raw, offset) {
                    segments.extend(piece_segments);
                    offset += length;
                    continue;
                }
            }
            // Every attempt that uploads counts against the day's number, not only the ones
            // that succeed: an episode whose last piece fails was paid for up to there.
            begun.counted();
            let bytes = tokio::fs::read(&piece).await.map_err(|e| format!("cannot read {}: {e}", piece.display()))?;
            let name = piece.file_name().and_then(|n| n.to_str()).unwrap_or("audio.mp3").to_string();
            let request = CreateTranscriptionRequestArgs::default()
                .file(AudioInput::from_vec_u8(name, bytes))
                .model(model)
                .response_format(AudioResponseFormat::VerboseJson)
                .build()
                .map_err(|e| e.to_string())?;
            let audio_api = self.llm.client.audio();
            let api = audio_api.transcription();
            // The client has no total timeout: a server that takes the upload and never answers
            // would hold the ingest, and every ingest after it, forever.
            let answer = tokio::time::timeout(TRANSCRIPTION_TIMEOUT, api.create_raw(request)).await;
            // Sent is counted, answered or not: the upload may have been paid for.
            self.llm.count(|u| u.requests += 1);
            let raw = answer
                .map_err(|_| format!("transcription request gave no answer in {} s", TRANSCRIPTION_TIMEOUT.as_secs()))?
                .map_err(|e| {
                    format!("transcription request failed: {}", self.llm.failed(Endpoint::Transcription, e))
                })?;
            let (piece_segments, length) = read_verbose(&raw, offset)?;
            if let Ok(value) = serde_json::from_slice::<serde_json::Value>(&raw) {
                if let Err(e) = self.llm.store().put_llm_cache(&key, &value) {
                    tracing::warn!("cannot keep a transcribed piece: {e}");
                }
            }
            segments.extend(piece_segments);
            offset += length;
        }
        Ok(segments)
    }

    /// Cuts audio into pieces under the request limit with ffmpeg: ten minutes each, or shorter
    /// when the audio's bitrate makes ten minutes too big (a WAV file, say). Returns the pieces
    /// and their length in seconds.
    async fn split(&self, audio: &Path, size: u64) -> Result<(Vec<PathBuf>, u32), String> {
        let mut seconds = PIECE_SECONDS;
        loop {
            let pieces = self.split_every(audio, size, seconds).await?;
            let biggest = pieces.iter().filter_map(|p| std::fs::metadata(p).ok()).map(|m| m.len()).max().unwrap_or(0);
            if biggest <= self.max_request_bytes {
                return Ok((pieces, seconds));
            }
            // The bitrate is about even through a file: pieces shorter in proportion, with a
            // margin, fit.
            let shorter = (u64::from(seconds) * self.max_request_bytes * 9 / 10 / biggest) as u32;
            if shorter < MIN_PIECE_SECONDS || shorter >= seconds {
                return Err(format!(
                    "the audio's pieces stay over the {} MB limit of one transcription request even {seconds} s long ({} MB); its bitrate is too high to transcribe",
                    self.max_request_bytes / (1024 * 1024),
                    biggest / (1024 * 1024)
                ));
            }
            tracing::info!(
                "pieces of {seconds} s of this audio are up to {biggest} bytes, over the request limit; cutting {shorter} s pieces"
            );
            seconds = shorter;
        }
    }

    /// One cut of the audio into pieces of `seconds`, replacing any pieces of an earlier cut.
    async fn split_every(&self, audio: &Path, size: u64, seconds: u32) -> Result<Vec<PathBuf>, String> {
        let dir = audio.parent().unwrap_or(Path::new("."));
        let pieces_in_dir = || -> Result<Vec<PathBuf>, String> {
            let mut pieces: Vec<PathBuf> = std::fs::read_dir(dir)
                .map_err(|e| e.to_string())?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with("piece")))
                .collect();
            pieces.sort();
            Ok(pieces)
        };
        for old in pieces_in_dir()? {
            std::fs::remove_file(&old).map_err(|e| format!("cannot remove {}: {e}", old.display()))?;
        }
        let ext = audio.extension().and_then(|e| e.to_str()).unwrap_or("mp3");
        let pattern = audio.with_file_name(format!("piece%03d.{ext}"));
        let run = || {
            tokio::process::Command::new(&self.ffmpeg)
                .args(["-hide_banner", "-loglevel", "error", "-i"])
                .arg(audio)
                .args(["-f", "segment", "-segment_time", &seconds.to_string(), "-c", "copy"])
                .arg(&pattern)
                .status()
        };
        let mut attempt = run().await;
        // ETXTBSY: a program that was just written (ffmpeg being upgraded, say) can be briefly
        // busy while another process still holds it open; it is runnable a moment later.
        for _ in 0..5 {
            if !matches!(&attempt, Err(e) if e.raw_os_error() == Some(26)) {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            attempt = run().await;
        }
        let status = attempt.map_err(|e| {
            format!(
                "the audio is {} MB, over the {} MB limit of one transcription request, and ffmpeg could not be run to split it ({e}): install ffmpeg",
                size / (1024 * 1024),
                self.max_request_bytes / (1024 * 1024)
            )
        })?;
        if !status.success() {
            return Err(format!("ffmpeg could not split the audio ({status})"));
        }
        pieces_in_dir()
    }
}

impl Transcriber for LlmTranscriber {
    fn transcribe<'a>(&'a self, episode: &'a Episode) -> BoxFuture<'a, Result<Vec<Segment>, TranscribeError>> {
        Box::pin(self.run(episode))
    }
}

/// A directory removed, with what it holds, when this is dropped.
struct RemovedOnDrop(std::path::PathBuf);

impl Drop for RemovedOnDrop {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The extension of the audio file an address names, for the file it is saved to: the file
/// name's own ("https://x.io/a" has none: ".io/a" is the host's), else mp3.
fn audio_extension(url: &str) -> &str {
    let name = url.split(['?', '#']).next().and_then(|p| p.rsplit('/').next()).unwrap_or("");
    name.rsplit_once('.')
        .map(|(_, e)| e)
        .filter(|e| (1..=4).contains(&e.len()) && e.chars().all(|c| c.is_ascii_alphanumeric()))
        .unwrap_or("mp3")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_saved_audio_takes_the_file_names_extension() {
        assert_eq!(audio_extension("https://cdn.example/ep/42.m4a?sig=a.b"), "m4a");
        assert_eq!(audio_extension("https://x.io/a"), "mp3");
        assert_eq!(audio_extension("https://x.io/play/episode"), "mp3");
        assert_eq!(audio_extension("https://x.org/e.tar/gz"), "mp3");
        assert_eq!(audio_extension("https://x.org/ep.OGG#t=1"), "OGG");
    }

    #[tokio::test]
    async fn the_audio_folder_goes_when_the_work_is_dropped_part_way() {
        let parent = tempfile::tempdir().unwrap();
        let dir = parent.path().join("podsift-audio-test");
        std::fs::create_dir_all(&dir).unwrap();
        let held = dir.clone();
        let work = async move {
            let _audio = RemovedOnDrop(held.clone());
            std::fs::write(held.join("piece-0.mp3"), b"ID3").unwrap();
            std::future::pending::<()>().await;
        };
        // Cut off as a stopping service cuts off an ingest.
        assert!(tokio::time::timeout(std::time::Duration::from_millis(20), work).await.is_err());
        assert!(!dir.exists(), "the audio was left behind");
    }

    #[test]
    fn nonsense_times_from_the_server_are_left_out() {
        let raw = br#"{"text": "x", "duration": 1e308, "segments": [
            {"start": -5, "end": 3, "text": "before the start"},
            {"start": 1e300, "end": 1e301, "text": "centuries later"},
            {"start": 10, "end": 4, "text": "ends before it starts"},
            {"start": 20, "end": 25, "text": "   "},
            {"start": 30, "end": 35, "text": " fine "}
        ]}"#;
        let (segments, length) = read_verbose(raw, 600.0).unwrap();
        let texts: Vec<(&str, f64, f64)> = segments.iter().map(|s| (s.text.as_str(), s.start, s.end)).collect();
        assert_eq!(texts, [("ends before it starts", 610.0, 610.0), ("fine", 630.0, 635.0)]);
        assert_eq!(length, 35.0, "the nonsense duration is replaced by the last end");
        assert!(read_verbose(b"{\"segments\": 3}", 0.0).is_err());
    }
}
