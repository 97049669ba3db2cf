"""Where calls come from: audio files (any common format, to 16 kHz per party), transcripts,
manifests of call metadata, speech models (found, downloaded, verified) and Vosk recognition
turning audio into a timeline; and synthetic calls with exact ground truth for samples and
tests."""
