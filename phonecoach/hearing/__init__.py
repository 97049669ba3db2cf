"""What the audio says about a call: a speech detector trained on real speech and each party's
turns, tones and levels from a short-time spectrum, echo between the lines, pitch, all followed
block by block by one listener (file and live alike); and the call's measures (rings, holds,
talk-over, dead air, hang-up order, pace, volume, pitch) decided from them."""
