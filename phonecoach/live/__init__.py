"""Live coaching: audio sources (devices, replays), one session per call (recognisers, the
listener, the judge, saving as it goes), the incremental judge raising each warning as soon as
it can be decided, and many sessions in one process. The same stages as ``phonecoach score``;
only the way audio arrives differs."""
