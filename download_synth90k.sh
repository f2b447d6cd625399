#!/usr/bin/env bash
# Downloads the Synth90k (MJSynth) word-image archive, verifies it, extracts it, and prints the
# tools/create_tfrecord.py commands that convert it to TFRecords.
#
#   ./download_synth90k.sh                        # into ./data/synth90k
#   ./download_synth90k.sh --dest /big/disk/synth90k --sha256 <HEX>
#   ./download_synth90k.sh --no-extract           # download + verify only
#
# Disk: the archive (mjsynth.tar.gz) is about 10 GB and extracts to about 30-40 GB of small JPEGs
# (~9 million files, so the file system also needs enough inodes). Once extracted, the archive can
# be deleted: DEST/.extracted records that extraction finished, and a re-run then only prints the
# conversion commands.
#
# Resume: an interrupted download is resumed by re-running the same command (curl -C - or wget -c;
# the server must honour HTTP Range requests). The download is verified by (1) comparing its size
# with the Content-Length the server reports, when it reports one, (2) its SHA-256 when --sha256
# is given (no official checksum is published, so none is built in), and (3) gzip -t.
#
# Downloader: curl when installed, else wget; SYNTH90K_DOWNLOADER=curl|wget forces one.
# tests/test_download_synth90k.py runs this script offline: it serves a tiny fake archive with the
# real layout from a local HTTP server and passes its address with --url.
set -euo pipefail

readonly DEFAULT_URL="https://thor.robots.ox.ac.uk/~vgg/data/text/mjsynth.tar.gz"
readonly MARKER_NAME=".extracted"

url="$DEFAULT_URL"
dest="./data/synth90k"
sha256=""
extract=1

usage() {
  cat <<EOF
Usage: ${0##*/} [--url URL] [--dest DIR] [--sha256 HEX] [--no-extract] [-h|--help]

Downloads the Synth90k / MJSynth archive (~10 GB; ~30-40 GB more once extracted), resuming a
partial download, verifies it (size, optional SHA-256, gzip -t), extracts it into DIR and prints
the tools/create_tfrecord.py commands that convert it.

  --url URL      archive address (default: $DEFAULT_URL)
  --dest DIR     where the archive goes and is extracted (default: ./data/synth90k)
  --sha256 HEX   expected SHA-256 of the archive; checked when given
  --no-extract   stop after downloading and verifying
  -h, --help     show this help

Environment: SYNTH90K_DOWNLOADER=curl|wget forces the downloader (default: curl if installed).
EOF
}

usage_error() {
  echo "error: $*" >&2
  echo "Run '${0##*/} --help' for usage." >&2
  exit 2
}

die() {
  echo "error: $*" >&2
  exit 1
}

need_value() {  # need_value FLAG NUM_ARGS_LEFT
  [[ $2 -ge 2 ]] || usage_error "$1 needs a value"
}

while [[ $# -gt 0 ]]; do
  case "$1" in
    --url) need_value "$1" $#; url="$2"; shift 2 ;;
    --url=*) url="${1#*=}"; shift ;;
    --dest) need_value "$1" $#; dest="$2"; shift 2 ;;
    --dest=*) dest="${1#*=}"; shift ;;
    --sha256) need_value "$1" $#; sha256="$2"; shift 2 ;;
    --sha256=*) sha256="${1#*=}"; shift ;;
    --no-extract) extract=0; shift ;;
    -h | --help) usage; exit 0 ;;
    *) usage_error "unknown argument: $1" ;;
  esac
done

[[ -n "$url" ]] || usage_error "--url is empty"
[[ -n "$dest" ]] || usage_error "--dest is empty"
if [[ -n "$sha256" ]]; then
  sha256="$(printf '%s' "$sha256" | tr '[:upper:]' '[:lower:]')"
  [[ "$sha256" =~ ^[0-9a-f]{64}$ ]] || usage_error "--sha256 must be 64 hex digits, got '$sha256'"
fi

# ---- downloader ---------------------------------------------------------------------------------
downloader="${SYNTH90K_DOWNLOADER:-}"
case "$downloader" in
  curl | wget)
    command -v "$downloader" >/dev/null 2>&1 ||
      die "SYNTH90K_DOWNLOADER=$downloader, but $downloader is not installed (or not on PATH)"
    ;;
  "")
    if command -v curl >/dev/null 2>&1; then
      downloader=curl
    elif command -v wget >/dev/null 2>&1; then
      downloader=wget
    else
      die "neither curl nor wget is installed; install one of them (e.g. apt-get install curl)"
    fi
    ;;
  *) usage_error "SYNTH90K_DOWNLOADER must be curl or wget, not '$downloader'" ;;
esac

# ---- helpers ------------------------------------------------------------------------------------
file_size() {  # bytes in file $1 (GNU stat, then BSD stat)
  stat -c %s "$1" 2>/dev/null || stat -f %z "$1"
}

# Content-Length of the final response (after redirects) of a HEAD request; empty when the server
# reports none or the request fails.
remote_size() {
  local headers
  if [[ "$downloader" == curl ]]; then
    headers="$(curl -sIL "$url" 2>/dev/null || true)"
  else
    headers="$(wget --spider -S "$url" 2>&1 || true)"
  fi
  # A status line starts a new response: forget the previous one's length. Only a 2xx counts.
  printf '%s\n' "$headers" | tr -d '\r' | awk '
    { sub(/^[ \t]+/, "") }
    /^HTTP\// { code = $2; len = ""; next }
    tolower($1) == "content-length:" { len = $2 }
    END { if (code ~ /^2/ && len ~ /^[0-9]+$/) print len }'
}

sha256_of() {
  if command -v sha256sum >/dev/null 2>&1; then
    sha256sum "$1" | awk '{print $1}'
  elif command -v shasum >/dev/null 2>&1; then
    shasum -a 256 "$1" | awk '{print $1}'
  else
    die "--sha256 was given but neither sha256sum nor shasum is installed"
  fi
}

marker_size() {  # archive size recorded in the marker file, or empty
  [[ -f "$marker" ]] || return 0
  awk -F= '$1 == "archive_size" { print $2 }' "$marker"
}

warn_disk_space() {  # warn_disk_space BYTES_NEEDED
  local avail_kb
  avail_kb="$(df -Pk "$dest" 2>/dev/null | awk 'NR == 2 { print $4 }')" || return 0
  [[ "$avail_kb" =~ ^[0-9]+$ ]] || return 0
  if (( avail_kb * 1024 < $1 )); then
    echo "warning: about $(( $1 / 1024 / 1024 / 1024 )) GiB needed in $dest, but only" \
      "$(( avail_kb / 1024 / 1024 )) GiB is free" >&2
  fi
}

# ---- download -----------------------------------------------------------------------------------
name="${url%%[?#]*}"
name="${name%/}"
name="${name##*/}"
[[ -n "$name" && "$name" != *:* ]] || name="mjsynth.tar.gz"

mkdir -p "$dest"
archive="$dest/$name"
marker="$dest/$MARKER_NAME"

if [[ ! -f "$archive" && "$extract" == 1 && -n "$(marker_size)" ]]; then
  echo "$dest was already extracted (found $marker) and the archive is gone: skipping the download."
  echo "Delete $marker to download and extract again."
  archive=""
fi

if [[ -n "$archive" ]]; then
  echo "Checking the size of $url ..."
  expected="$(remote_size)"
  have=0
  [[ -f "$archive" ]] && have="$(file_size "$archive")"
  if [[ -n "$expected" ]]; then
    echo "The server reports $expected bytes; $archive has $have."
    if (( have > expected )); then
      die "$archive has $have bytes, more than the $expected the server reports: it is not" \
        "this file. Delete it and re-run."
    fi
    remaining=$(( expected - have ))
    (( extract == 1 )) && remaining=$(( remaining + 4 * expected ))
    warn_disk_space "$remaining"
  else
    echo "The server did not report a size (no Content-Length): the size check is skipped."
  fi

  if [[ -n "$expected" && "$have" == "$expected" ]]; then
    echo "$archive is already complete: nothing to download."
  else
    (( have > 0 )) && echo "Resuming $archive from byte $have ..."
    echo "Downloading $url -> $archive with $downloader ..."
    status=0
    if [[ "$downloader" == curl ]]; then
      code="$(curl -fL -C - -o "$archive" -w '%{http_code}' "$url")" || status=$?
      # 416 to a resume request: nothing lies past the bytes we have (wget -c takes it as done;
      # curl -f calls it an error). Only reached when the server reported no size.
      if (( status == 22 && have > 0 )) && [[ "$code" == 416 ]]; then
        echo "The server has nothing past byte $have: taking $archive as complete."
        status=0
      fi
    else
      progress=()
      [[ -t 2 ]] || progress=(--progress=dot:giga)
      wget -c "${progress[@]}" -O "$archive" "$url" || status=$?
    fi
    if (( status != 0 )); then
      die "the download stopped ($downloader exit code $status). Re-run the same command to" \
        "resume it."
    fi
  fi

  # ---- verify -----------------------------------------------------------------------------------
  [[ -f "$archive" ]] || die "$downloader reported success but $archive does not exist"
  have="$(file_size "$archive")"
  if [[ -n "$expected" ]]; then
    if [[ "$have" != "$expected" ]]; then
      die "size mismatch: $archive has $have bytes, the server reports $expected. The download" \
        "is incomplete: re-run the same command to resume it."
    fi
    echo "Size OK: $have bytes."
  fi

  if [[ -n "$sha256" ]]; then
    echo "Computing the SHA-256 of $archive (a few minutes for 10 GB) ..."
    actual="$(sha256_of "$archive")"
    if [[ "$actual" != "$sha256" ]]; then
      die "sha256 mismatch: $archive has sha256 $actual, expected $sha256. The file is corrupt" \
        "or not the expected one: delete it and re-run."
    fi
    echo "SHA-256 OK: $actual"
  fi

  already_extracted=0
  [[ "$extract" == 1 && "$(marker_size)" == "$have" ]] && already_extracted=1

  if (( already_extracted )); then
    echo "$archive was already tested and extracted (see $marker): skipping gzip -t and tar."
  else
    echo "Testing the gzip stream of $archive (gzip -t; a few minutes for 10 GB) ..."
    if ! gzip -t "$archive"; then
      die "$archive is corrupt: gzip -t failed. Delete it and re-run to download it again."
    fi
    echo "gzip OK."
  fi

  if (( extract == 0 )); then
    echo "Done (--no-extract): $archive"
    exit 0
  fi

  # ---- extract ----------------------------------------------------------------------------------
  if (( ! already_extracted )); then
    echo "Extracting $archive into $dest (~30-40 GB, ~9 million files; this takes a while) ..."
    rm -f "$marker"
    tar -xzf "$archive" -C "$dest" || die "tar -xzf $archive failed; re-run to extract again"
    printf 'archive=%s\narchive_size=%s\n' "$name" "$have" >"$marker.tmp"
    mv -f "$marker.tmp" "$marker"
    echo "Extracted. You may now delete $archive to free ~10 GB."
  fi
fi

# ---- conversion commands ------------------------------------------------------------------------
# The real archive nests everything under mnt/ramdisk/max/90kDICT32px/. -maxdepth keeps find out of
# the ~9 million images (they sit two levels below the annotation files).
anno="$dest/mnt/ramdisk/max/90kDICT32px/annotation_train.txt"
if [[ ! -f "$anno" ]]; then
  anno="$(find "$dest" -maxdepth 6 -type f -name annotation_train.txt 2>/dev/null | sort | head -n 1)"
fi
[[ -n "$anno" && -f "$anno" ]] ||
  die "annotation_train.txt not found under $dest (expected" \
    "$dest/mnt/ramdisk/max/90kDICT32px/annotation_train.txt next to annotation_test.txt and the" \
    "numbered image folders). Is $url the Synth90k (MJSynth) archive?"
root="$(cd "$(dirname "$anno")" && pwd)"
[[ -f "$root/annotation_test.txt" ]] ||
  echo "warning: $root/annotation_test.txt is missing; only the train list can be converted." >&2

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
q_root="$(printf '%q' "$root")"
q_train="$(printf '%q' "$root/annotation_train.txt")"
q_test="$(printf '%q' "$root/annotation_test.txt")"
echo
echo "Synth90k is ready in $root"
echo "Annotation lines look like './2911/6/77_heretical_35885.jpg 35885': the label is the word in"
echo "the file name (N_word_K.jpg), lower-cased by --lowercase (the Synth90k convention)."
echo "The official test list goes to a separate folder, all of it in the validation split"
echo "(--validation_split_fraction 1.0), so it never mixes with training data."
echo "Convert it from $repo with:"
echo
echo "  python tools/create_tfrecord.py --anno_format synth90k --image_dir $q_root" \
  "--anno_file $q_train --data_dir tfrecords/synth90k --lowercase" \
  "--charset alnum_lower"
echo "  python tools/create_tfrecord.py --anno_format synth90k --image_dir $q_root" \
  "--anno_file $q_test --data_dir tfrecords/synth90k_test --lowercase" \
  "--charset alnum_lower --validation_split_fraction 1.0"
