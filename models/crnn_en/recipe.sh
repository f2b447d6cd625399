#!/usr/bin/env bash
# How models/crnn_en was made, step for step (seeded: the same fonts give the same images).
# Run from the repository root in the project's virtualenv:  bash models/crnn_en/recipe.sh [OUT]
# Fonts: the pip pool (requirements.txt) plus the Debian/Ubuntu font packages below.
set -euo pipefail
OUT=${1:-runs/crnn_en}
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
set -x
# 1. 250,000 MJSynth-style words, every font family equally likely (~8 min on 2 cores)
python tools/generate_synthetic.py --output_dir "$OUT/synth" --count 250000 --seed 2026 \
  --fonts_dir default,/usr/share/fonts --font_sampling family \
  --case_weights 0.35,0.35,0.25,0.05 --random_share 0.15 --style mjsynth \
  --length_weights words --progress=false
# 2. TFRecords, labels folded to lower case, 2% validation (picks the best checkpoint)
python tools/create_tfrecord.py --image_dir "$OUT/synth" --anno_file "$OUT/synth/image_list.txt" \
  --data_dir "$OUT/tfrecords" --lowercase --charset alnum_lower \
  --validation_split_fraction 0.02 --progress=false
# 3. train: the `crnn_en` preset (small CRNN, augmentation, 36,000 steps x 32)
python tools/train_crnn_ctc.py --data_dir "$OUT/tfrecords" --model_dir "$OUT/train" \
  --preset crnn_en
# 4. SavedModel (beam 10) + weights and config.json for eval and fine-tuning
python tools/export_crnn_ctc.py --model_dir "$OUT/train" --export_dir "$OUT/crnn_en" \
  --with_weights
