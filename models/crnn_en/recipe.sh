#!/usr/bin/env bash
# How models/crnn_en version 2 was made, step for step (seeded: the same fonts give the same
# images). Run from the repository root in the project's virtualenv:
#   bash models/crnn_en/recipe.sh REAL_TRAIN [OUT]
# REAL_TRAIN: the real_train folder (IIIT5K, SVT and IC15 TRAINING crops with
# train_list_photo_disjoint.txt and val_list_photo_disjoint.txt; see the model card). Never a
# test set: the real benchmarks are read once, on the final model (benchmarks/bench_real_eval.py).
# Fonts: the pip pool (requirements.txt) plus the Debian/Ubuntu font packages below, as v1.
set -euo pipefail
REAL=${1:?usage: recipe.sh REAL_TRAIN [OUT]}
OUT=${2:-runs/crnn_en_v2}
FONT_PACKAGES="fonts-3270 fonts-comic-neue fonts-adf-accanthis fonts-adf-baskervald
 fonts-adf-berenis fonts-adf-gillius fonts-adf-ikarius fonts-adf-irianis fonts-adf-libris
 fonts-adf-mekanus fonts-adf-oldania fonts-adf-romande fonts-adf-solothurn fonts-adf-switzera
 fonts-adf-tribun fonts-adf-universalis fonts-adf-verana fonts-agave fonts-anonymous-pro fonts-b612
 fonts-bajaderka fonts-bebas-neue fonts-beteckna fonts-blankenburg fonts-breip fonts-cabin
 fonts-cabinsketch fonts-cantarell fonts-courier-prime fonts-crosextra-carlito fonts-dustin
 fonts-ebgaramond fonts-fantasque-sans fonts-fanwood fonts-femkeklaver fonts-firacode
 fonts-freefont-ttf fonts-go fonts-goudybookletter fonts-hack fonts-inter fonts-isabella
 fonts-jetbrains-mono fonts-junicode fonts-jura fonts-kristi fonts-league-mono fonts-league-spartan
 fonts-leckerli-one fonts-liberation2 fonts-linuxlibertine fonts-lobster fonts-lobstertwo
 fonts-monoid fonts-mononoki fonts-mplus fonts-croscore fonts-oldstandard fonts-open-sans
 fonts-play fonts-prociono fonts-quicksand fonts-radisnoir fonts-reggae fonts-roboto-slab
 fonts-rufscript fonts-sil-andika fonts-sil-charis fonts-sil-gentiumplus fonts-sil-doulos
 fonts-staypuft fonts-summersby fonts-tomsontalks fonts-ubuntu-title fonts-urw-base35
 fonts-yanone-kaffeesatz fonts-texgyre fonts-noto-core fonts-dejavu-extra"
if [ ! -d /usr/share/fonts/truetype/adf ]; then
  echo "install the fonts first (Debian 12 / Ubuntu):"
  echo "  sudo apt-get update && sudo apt-get install -y --no-install-recommends" $FONT_PACKAGES
  exit 1
fi
for f in train_list_photo_disjoint.txt val_list_photo_disjoint.txt; do
  [ -f "$REAL/$f" ] || { echo "no $REAL/$f: REAL_TRAIN is the real_train folder"; exit 1; }
done
set -x
# 1. 400,000 scene-style words (the generator's defaults: crops as a detector cuts them),
#    v1's 166 font families, each equally likely; the real crops' lengths and cases
#    (~23 min on 2 cores)
python tools/generate_synthetic.py --output_dir "$OUT/synth" --count 400000 --seed 2026 \
  --style scene --fonts_dir default,/usr/share/fonts --font_sampling family \
  --random_share 0.15 --case_weights 0.15,0.55,0.25,0.05 --length_weights scene \
  --progress=false
python tools/create_tfrecord.py --image_dir "$OUT/synth" --anno_file "$OUT/synth/image_list.txt" \
  --data_dir "$OUT/synth_tf" --lowercase --charset alnum_lower \
  --validation_split_fraction 0.01 --progress=false
# 2. the real crops: labels folded to lower case, other characters dropped ("Lowe's" -> "lowes")
python tools/create_tfrecord.py --image_dir "$REAL" --anno_file "$REAL/train_list_photo_disjoint.txt" \
  --data_dir "$OUT/real_train_tf" --lowercase --charset alnum_lower --strip_unknown \
  --validation_split_fraction 0 --progress=false
python tools/create_tfrecord.py --image_dir "$REAL" --anno_file "$REAL/val_list_photo_disjoint.txt" \
  --data_dir "$OUT/real_val_tf" --lowercase --charset alnum_lower --strip_unknown \
  --validation_split_fraction 1 --progress=false
# 3. synthetic-only stage: from crnn_en v1's weights (models/crnn_en/v1), 12,000 steps x 64 on
#    the synthetic words (bf16 on a CPU with AVX512-BF16 or AMX: --mixed_precision auto), the
#    checkpoint chosen on the real validation crops
python tools/train_crnn_ctc.py --data_dir "$OUT/synth_tf" --val_data_dir "$OUT/real_val_tf" \
  --model_dir "$OUT/pretrain" --preset crnn_en --init_from models/crnn_en/v1 --batch_size 64 \
  --learning_rate 1e-3 --warmup_steps 500 --max_train_steps 12000 --eval_every 1000 \
  --save_every 1000 --seed 2026
# 4. fine-tuning: real crops mixed with synthetic ones in every batch (3 real : 1 synthetic; 1:1
#    and 1:3 read less on the validation crops), the checkpoint chosen on the real validation
#    crops
python tools/train_crnn_ctc.py --data_dir "$OUT/real_train_tf,$OUT/synth_tf" \
  --batch_ratio 3,1 --val_data_dir "$OUT/real_val_tf" --model_dir "$OUT/finetune" \
  --preset crnn_en --init_from "$OUT/pretrain" --batch_size 64 --learning_rate 5e-4 \
  --warmup_steps 100 --max_train_steps 2500 --eval_every 250 --save_every 250 --seed 2026
# 5. SavedModel version 2 (beam 10, tall crops read turned) + weights and config.json
python tools/export_crnn_ctc.py --model_dir "$OUT/finetune" --export_dir "$OUT/crnn_en" \
  --version 2 --with_weights
