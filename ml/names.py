"""Names and defaults that the command line shows and the library uses, in a module that
imports nothing heavy: `python -m ml --help` builds every parser without loading torch."""

BPTT_MODES = ("full", "tbptt", "checkpoint")
MUSIC_STYLES = ("folk", "chorale", "piano")  # a shipped music model each (ml.paths)
DEFAULT_MUSIC_STYLE = "folk"
SCHEDULES = ("budget", "epochs")  # what the learning-rate schedule spans (ml.training.TrainConfig)
RUN_FILES = ("best.pt", "last.pt", "metrics.jsonl", "loss.png")  # what a training run's folder holds
HEADS = ("sigmoid", "nade")  # piano output layers
SYNTHS = ("auto", "soundfont", "fluidsynth", "numpy")  # audio preview renderers
DEFAULT_FRAMES_PER_BEAT = 2  # the eighth-note grid of the Nottingham benchmark
# How replies are written, chosen by the quality report on the shipped model (docs/REPORT.md):
# among the settings within 0.3 bits/char of plain sampling's fluency, the one missing the
# fewest targets (attribution as often as real unseen songs, real words, whole lines,
# choruses, rhymes, copying ≤ 1%), then the best attributed; of its two best (style 6 with
# min-p 0.1 or 0.05), the one that copies training lyrics less (2% against 5%).
DEFAULT_STYLE = 6.0  # guidance strength
DEFAULT_STYLE_RAMP = 60  # characters over which guidance rises to the style strength
DEFAULT_MIN_P = 0.05  # the min-p cut of the guided distribution
DEFAULT_RECALL = 1.0  # how strongly a line goes on like an earlier one (ml.text.shape)
DEFAULT_RHYME = 1.0  # share of a rhyming word's end moved to a line end (ml.text.shape)
