"""Train a CRNN+CTC recognizer on the TFRecords written by create_tfrecord.py.

    python tools/train_crnn_ctc.py --data_dir tfrecords/ --model_dir runs/small --preset small

Running the same command again resumes from the latest checkpoint in --model_dir. Flags given
explicitly override the preset. Fine-tune the shipped English model on your own records:
    python tools/train_crnn_ctc.py --data_dir tfrecords/ --model_dir runs/mine \
        --init_from models/crnn_en --learning_rate 5e-4 --max_train_steps 3000 --preset small
Mix real crops with synthetic words, a quarter of every batch real:
    python tools/train_crnn_ctc.py --data_dir real_tf/,synth_tf/ --batch_ratio 1,3 ...
Watch it with: tensorboard --logdir runs/
Several GPUs: MirroredStrategy (automatic). Several machines: set TF_CONFIG on each.
"""


from absl import app, flags, logging

from crnn_ctc.cli import run_tool
from crnn_ctc.train import config, presets

HELP = {
    "image_height": "input height (default: the records' height from dataset.json)",
    "image_width": "input width; CTC time steps = width // 4 (default: the records' width)",
    "filters": "the 7 conv widths, comma-separated (paper: 64,128,256,256,512,512,512)",
    "rnn": "recurrent layer: lstm | gru",
    "rnn_units": "units per direction of each bidirectional layer",
    "rnn_layers": "number of bidirectional layers",
    "stn": "put an affine spatial transformer in front of the CNN",
    "dropout": "dropout before each recurrent layer",
    "batch_size": "GLOBAL batch size, split evenly over all replicas (GPUs x workers)",
    "learning_rate": "peak learning rate (Adam) for --batch_size",
    "lr_schedule": "after warmup: cosine (to 0) | constant | exponential (to lr/10)",
    "warmup_steps": "linear warmup steps",
    "weight_decay": "AdamW weight decay (0 = Adam)",
    "clip_norm": "global gradient-norm clip (0 = off)",
    "max_train_steps": "stop after this many steps (ignored when --num_epochs > 0)",
    "num_epochs": "train for this many passes over the train split instead",
    "eval_every": "validate (and keep the best checkpoint) every N steps",
    "eval_batches": "validation batches per evaluation (0 = the whole validation split)",
    "save_every": "checkpoint every N steps",
    "log_every": "log loss / learning rate / images/s every N steps",
    "augment": "augment training images (warp, blur, noise, colour, JPEG quality)",
    "shuffle_buffer": "records in the shuffle buffer",
    "mixed_precision": "auto (fp16 on a GPU, bf16 on a CPU with AMX-BF16 or AVX512-BF16, "
                       "else off) | bf16 | fp16 | off",
    "jit_compile": "compile the train step with XLA",
    "seed": "seed of the initial weights, dropout, augmentation and data order",
    "batch_ratio": "with several --data_dir folders: each one's share of every batch, e.g. "
                   "0.5,0.5 (default: equal shares)",
    "batch_mix": "with several --data_dir folders: within = every batch holds each folder's "
                 "--batch_ratio share; whole = each batch is one folder's, the folders drawn "
                 "in those shares (keep_aspect words then never pad to a line's width)",
}

flags.DEFINE_string("data_dir", None, "folder with {train,validation}-*.tfrecord and charset.txt; "
                    "several, comma-separated, to mix their train records in every batch "
                    "(--batch_ratio; the first folder's validation split picks the best "
                    "checkpoint)")
flags.DEFINE_string("model_dir", None, "where checkpoints, TensorBoard logs and config.json go")
flags.DEFINE_enum("preset", "paper", list(presets.PRESETS), "model/training preset")
_DEFAULTS = config.Config()
for _name, _help in HELP.items():
    _value = getattr(_DEFAULTS, _name)
    if isinstance(_value, bool):
        flags.DEFINE_boolean(_name, _value, _help)
    elif isinstance(_value, int):
        flags.DEFINE_integer(_name, _value, _help)
    elif isinstance(_value, float):
        flags.DEFINE_float(_name, _value, _help)
    elif isinstance(_value, tuple):
        flags.DEFINE_list(_name, [str(v) for v in _value], _help)
    else:
        flags.DEFINE_string(_name, _value, _help)
flags.DEFINE_string("val_data_dir", None, "a records folder whose validation split picks the "
                    "best checkpoint instead of the first --data_dir's (e.g. real crops while "
                    "training on synthetic words); several, comma-separated: each is scored and "
                    "the mean of their word accuracies picks it; same charset and image size")
flags.DEFINE_string("init_from", None, "start from this trained model's weights (a training "
                    "folder such as models/crnn_en, or a checkpoint in one): fine-tuning")
flags.mark_flags_as_required(["data_dir", "model_dir"])
FLAGS = flags.FLAGS


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {argv[1:]}")
    explicit = {name: FLAGS[name].value for name in HELP if FLAGS[name].present}
    try:
        cfg = config.override(presets.get(FLAGS.preset), explicit)
        from crnn_ctc.train import finetune, loop  # noqa: PLC0415 (TensorFlow after flag checks)

        if FLAGS.init_from:
            cfg = finetune.model_config(cfg, FLAGS.init_from, frozenset(explicit))
        result = loop.train(cfg, FLAGS.data_dir, FLAGS.model_dir, frozenset(explicit),
                            FLAGS.init_from or "", FLAGS.val_data_dir or "")
    except (ValueError, FileNotFoundError) as err:
        logging.error("%s", err)
        return 1
    logging.info("done: %s", result)
    return 0


if __name__ == "__main__":
    run_tool(main, __doc__)
