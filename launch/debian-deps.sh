#!/usr/bin/env bash
# Installs what kurc needs to build, test and run on Debian 12, from Debian's
# archive only: the compilers, CMake, libyaml, cmocka, OpenBLAS, HDF5, ISA-L,
# Open MPI, cairo (the plot hook) with a font for its labels, clang's
# libFuzzer, the speech libraries (libsndfile, libsamplerate, FFTW) and
# espeak-ng (the speech tests' and example's spoken words), and the Python
# packages the tests compare with (torch, h5py, numpy), plus Fashion-MNIST
# for the examples.
# Safe to run again: it installs only what is missing.
set -euo pipefail

packages=(
  build-essential cmake pkg-config
  libyaml-dev libcmocka-dev
  libopenblas-dev libhdf5-dev hdf5-tools
  libopenmpi-dev openmpi-bin
  slurmctld slurmd slurm-client munge shellcheck
  libcurl4-openssl-dev libssl-dev zlib1g-dev libisal-dev
  libcairo2-dev libfontconfig-dev fonts-dejavu-core
  libarchive-dev libglib2.0-dev
  libsndfile1-dev libsamplerate0-dev libfftw3-dev espeak-ng
  clang libclang-rt-14-dev
  python3 python3-numpy python3-h5py python3-torch
  python3-yaml
  dataset-fashion-mnist
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "debian-deps: everything is installed"
  exit 0
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then
  sudo="sudo"
fi
echo "debian-deps: installing ${missing[*]}"
$sudo apt-get update -q
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
