#!/usr/bin/env bash
# How models/crnn_en version 3 is made, step for step (seeded: the same fonts give the same
# images). Run from the repository root in the project's virtualenv:
#   bash models/crnn_en/recipe_v3.sh REAL_TRAIN REAL_LINES [OUT]
# REAL_TRAIN: the real_train folder (IIIT5K, SVT, IC15 and IC13 born-digital TRAINING crops);
# REAL_LINES: the real_lines folder (SROIE 2019 and FUNSD; only their train.txt is read).
# Never a test set: the real benchmarks are read once, on the final model.
# Fonts: the pip pool plus the Debian font packages of recipe.sh (version 2's), 166 families.
set -euo pipefail
REAL=${1:?usage: recipe_v3.sh REAL_TRAIN REAL_LINES [OUT]}
LINES=${2:?usage: recipe_v3.sh REAL_TRAIN REAL_LINES [OUT]}
OUT=${3:-runs/crnn_en_v3}
eval "$(sed -n '/^FONT_PACKAGES="/,/"$/p' models/crnn_en/recipe.sh)"
if [ ! -d /usr/share/fonts/truetype/adf ]; then
  echo "install the fonts first (Debian 12 / Ubuntu):"
  echo "  sudo apt-get update && sudo apt-get install -y --no-install-recommends" $FONT_PACKAGES
  exit 1
fi
set -x
# 1. the real-crop lists: case-sensitive IIIT5K / SVT labels, word validation per source,
#    the line train lists split by receipt / form (models/crnn_en/v3_lists.py)
python models/crnn_en/v3_lists.py --real_train "$REAL" --real_lines "$LINES" --out "$OUT/lists"
# 2. synthetic data (about 14 + 2 min on 2 cores): 240,000 scene-style words over printable
#    ASCII, 12% of them sign / receipt tokens (prices, dates, codes, punctuated words), and
#    100,000 text lines; every font family equally likely
python tools/generate_synthetic.py --output_dir "$OUT/synth_words" --count 240000 --seed 2028 \
  --style scene --charset printable --token_share 0.12 --fonts_dir default,/usr/share/fonts \
  --font_sampling family --random_share 0.15 --case_weights 0.15,0.55,0.25,0.05 \
  --length_weights scene --progress=false
python tools/generate_synthetic.py --output_dir "$OUT/synth_lines" --count 100000 --seed 2027 \
  --style line --fonts_dir default,/usr/share/fonts --font_sampling family --progress=false
# 3. records: keep_aspect at height 32, up to 1024 px wide (64-85 characters), printable ASCII;
#    crops whose label the charset lacks or whose width holds too few CTC steps (tall crops)
#    are skipped, each with its reason in <folder>/skipped.tsv
C="--charset printable --resize keep_aspect --image_height 32 --image_width 1024 --progress=false"
for s in words lines; do
  python tools/create_tfrecord.py --image_dir "$OUT/synth_$s" \
    --anno_file "$OUT/synth_$s/image_list.txt" --data_dir "$OUT/synth_${s}_tf" \
    --validation_split_fraction 0 $C
done
python tools/create_tfrecord.py --image_dir "$REAL" --anno_file "$OUT/lists/words_train.txt" \
  --data_dir "$OUT/real_words_tf" --validation_split_fraction 0 $C
for s in IC15 IIIT5K SVT; do
  python tools/create_tfrecord.py --image_dir "$REAL" --anno_file "$OUT/lists/words_val_$s.txt" \
    --data_dir "$OUT/val_$s" --validation_split_fraction 1 $C
done
for s in sroie funsd; do
  python tools/create_tfrecord.py --image_dir "$LINES" --anno_file "$OUT/lists/${s}_train.txt" \
    --data_dir "$OUT/${s}_tf" --validation_split_fraction 0 $C
  python tools/create_tfrecord.py --image_dir "$LINES" --anno_file "$OUT/lists/${s}_val.txt" \
    --data_dir "$OUT/val_$s" --validation_split_fraction 1 $C
done
# 4. training: each batch of 64 from one folder (--batch_mix whole: words are not padded to a
#    line's width), synthetic words / synthetic lines / real words / SROIE / FUNSD drawn
#    0.4 / 0.3 / 0.2 / 0.05 / 0.05; augmented; bf16 where the CPU has it; the checkpoint chosen
#    on the mean word accuracy of the five validation folders (IC15, IIIT5K, SVT words, SROIE,
#    FUNSD lines). Resumable: run the same command again to go on from the last checkpoint.
TRAIN=(--data_dir "$OUT/synth_words_tf,$OUT/synth_lines_tf,$OUT/real_words_tf,$OUT/sroie_tf,$OUT/funsd_tf"
  --batch_ratio 0.4,0.3,0.2,0.05,0.05 --batch_mix whole
  --val_data_dir "$OUT/val_IC15,$OUT/val_IIIT5K,$OUT/val_SVT,$OUT/val_sroie,$OUT/val_funsd"
  --preset crnn_en --batch_size 64 --learning_rate 1e-3 --warmup_steps 500
  --max_train_steps 30000 --save_every 500 --seed 2029 --log_every 50)
# 4a. the architecture comparison (model card, "How the architecture was chosen"): both
#     candidates at once, one core each, the same data and schedule, validated every 500 steps
#     and stopped after the same 33 minutes of wall-clock:
#     A = the `small` CRNN of version 2, started from version 2's weights (kept)
#     B = a wider CRNN from scratch (filters 48-96-128-128-192-192-192, BiLSTM 160; 2.1M
#         parameters, 1.2x version 2's batch-1 time per word)
if [ "${COMPARE:-0}" = 1 ]; then
  taskset -c 0 python tools/train_crnn_ctc.py "${TRAIN[@]}" --eval_every 500 \
    --model_dir "$OUT/train" --init_from models/crnn_en/v2 &
  taskset -c 1 python tools/train_crnn_ctc.py "${TRAIN[@]}" --eval_every 500 \
    --model_dir "$OUT/candidate_b" --filters 48,96,128,128,192,192,192 --rnn_units 160 &
  sleep 1980; kill %1 %2; wait || true
fi
# 4b. candidate A on to the end (resumed from its last checkpoint), validated every 1000 steps
python tools/train_crnn_ctc.py "${TRAIN[@]}" --eval_every 1000 --model_dir "$OUT/train" \
  --init_from models/crnn_en/v2
# 5. export: SavedModel version 3 (beam 10, tall crops also read turned) with config.json and
#    the chosen checkpoint's weights (best/: the best mean validation word accuracy)
python tools/export_crnn_ctc.py --model_dir "$OUT/train" --export_dir "$OUT/crnn_en" \
  --version 3 --with_weights
