#!/usr/bin/env bash
# Writes the /proc trees that boards' detection tests read.
#
# Provenance. The x86 tree is this project's build machine, captured with
# `cp /proc/cpuinfo` (2 vCPUs, AMD EPYC, KVM) and kept verbatim. The
# Raspberry Pi trees are written by hand, not captured on hardware, from
# published sources:
#   - revision codes: "Raspberry Pi revision codes", raspberrypi.com
#     documentation (9000c1 Zero W 1.1, a020d3 3B+ 1.3, c03114 4B 1.4 4 GB,
#     d04170 5 1.0 8 GB, 902120 Zero 2 W 1.0); the device-tree property
#     system/linux,revision holds the same code as a 4-byte big-endian cell;
#   - /proc/cpuinfo layouts: the Linux arm (arch/arm/kernel/setup.c) and
#     arm64 (arch/arm64/kernel/cpuinfo.c) formats, with the Hardware /
#     Revision / Serial / Model trailer that Raspberry Pi kernels append;
#     MIDR part numbers from Arm's TRMs (0xb76 ARM1176, 0xd03 Cortex-A53,
#     0xd08 Cortex-A72, 0xd0b Cortex-A76, 0xd0c Neoverse N1); Features as the
#     kernels print them (Pi 5 adds asimddp; 32-bit kernels print neon, not
#     asimd);
#   - /proc/device-tree/model: the NUL-terminated model strings the
#     firmware reports (same text as the cpuinfo Model line).
# The 3B+ tree has no linux,revision file (kernels before 5.x), so
# detection falls back to the cpuinfo Revision line; the Graviton-like
# tree is a non-Pi arm64 host with dot product.
set -euo pipefail
cd "$(dirname "$0")"

# tree NAME MODEL REVISION(hex or "") — then cpuinfo on stdin.
tree() {
  local d=$1 model=$2 rev=$3
  rm -rf "$d"
  mkdir -p "$d/proc"
  cat > "$d/proc/cpuinfo"
  if [ -n "$model" ]; then
    mkdir -p "$d/proc/device-tree"
    printf '%s\0' "$model" > "$d/proc/device-tree/model"
  fi
  if [ -n "$rev" ]; then
    mkdir -p "$d/proc/device-tree/system"
    printf "$(printf '%08x' "0x$rev" | sed 's/../\\x&/g')" > "$d/proc/device-tree/system/linux,revision"
  fi
}

arm32core() { # N MODELNAME FEATURES PART REV
  printf 'processor\t: %s\nmodel name\t: %s\nBogoMIPS\t: 38.40\nFeatures\t: %s\nCPU implementer\t: 0x41\nCPU architecture: 7\nCPU variant\t: 0x0\nCPU part\t: %s\nCPU revision\t: %s\n\n' "$@"
}
arm64core() { # N FEATURES VARIANT PART REV
  printf 'processor\t: %s\nBogoMIPS\t: 108.00\nFeatures\t: %s\nCPU implementer\t: 0x41\nCPU architecture: 8\nCPU variant\t: %s\nCPU part\t: %s\nCPU revision\t: %s\n\n' "$@"
}

{
  arm32core 0 "ARMv6-compatible processor rev 7 (v6l)" "half thumb fastmult vfp edsp java tls " 0xb76 7
  printf 'Hardware\t: BCM2835\nRevision\t: 9000c1\nSerial\t\t: 00000000a1b2c3d4\nModel\t\t: Raspberry Pi Zero W Rev 1.1\n'
} | tree pi-zero-w "Raspberry Pi Zero W Rev 1.1" 9000c1

{
  for i in 0 1 2 3; do
    arm32core $i "ARMv7 Processor rev 4 (v7l)" "half thumb fastmult vfp edsp neon vfpv3 tls vfpv4 idiva idivt vfpd32 lpae evtstrm crc32 " 0xd03 4
  done
  printf 'Hardware\t: BCM2835\nRevision\t: a020d3\nSerial\t\t: 00000000b2c3d4e5\nModel\t\t: Raspberry Pi 3 Model B Plus Rev 1.3\n'
} | tree pi3bplus "Raspberry Pi 3 Model B Plus Rev 1.3" ""

{
  for i in 0 1 2 3; do arm64core $i "fp asimd evtstrm crc32 cpuid" 0x0 0xd08 3; done
  printf 'Hardware\t: BCM2835\nRevision\t: c03114\nSerial\t\t: 10000000c3d4e5f6\nModel\t\t: Raspberry Pi 4 Model B Rev 1.4\n'
} | tree pi4b "Raspberry Pi 4 Model B Rev 1.4" c03114

{
  for i in 0 1 2 3; do
    arm64core $i "fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp cpuid asimdrdm lrcpc dcpop asimddp" 0x4 0xd0b 1
  done
  printf 'Revision\t: d04170\nSerial\t\t: d4e5f6a7b8c9d0e1\nModel\t\t: Raspberry Pi 5 Model B Rev 1.0\n'
} | tree pi5 "Raspberry Pi 5 Model B Rev 1.0" d04170

{
  for i in 0 1 2 3; do arm64core $i "fp asimd evtstrm crc32 cpuid" 0x0 0xd03 4; done
  printf 'Hardware\t: BCM2835\nRevision\t: 902120\nSerial\t\t: 00000000e5f6a7b8\nModel\t\t: Raspberry Pi Zero 2 W Rev 1.0\n'
} | tree pi-zero-2w "Raspberry Pi Zero 2 W Rev 1.0" 902120

{
  for i in 0 1; do
    arm64core $i "fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp cpuid asimdrdm lrcpc dcpop asimddp ssbs" 0x3 0xd0c 1
  done
} | tree graviton2 "" ""

# The x86 host: captured, not generated. Refresh with
#   mkdir -p x86-host/proc && cp /proc/cpuinfo x86-host/proc/cpuinfo
test -f x86-host/proc/cpuinfo
