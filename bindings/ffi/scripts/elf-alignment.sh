# Sourced by build-shipped.sh and cross-check.sh: the 16 KB page check of a shared library.
#
# check_alignment FILE: prints FILE's LOAD segments and fails (exit 1) unless every one is
# aligned to at least 0x4000 (16 KB), as Android 15+ devices with 16 KB pages require.
check_alignment() {
    readelf -lW "$1" | awk '$1 == "LOAD"' >&2
    # The alignment is the last field of each LOAD line, in hex.
    local alignments loads=0 misaligned=""
    alignments=$(readelf -lW "$1" | awk '$1 == "LOAD" { print $NF }')
    for align in $alignments; do
        loads=$((loads + 1))
        if [ $((align)) -lt 16384 ]; then
            misaligned="$misaligned $align"
        fi
    done
    if [ "$loads" -eq 0 ]; then
        echo "FAIL: no LOAD segments found in $1" >&2
        exit 1
    fi
    if [ -n "$misaligned" ]; then
        echo "FAIL: LOAD segments of $1 aligned below 0x4000:$misaligned (16 KB page devices cannot load it)" >&2
        exit 1
    fi
    echo "ok: all $loads LOAD segments of $(basename "$1") aligned to >= 0x4000" >&2
}
