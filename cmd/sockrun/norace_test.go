//go:build !race

package main

// raceDetector says this test binary, which plays the programs under
// test, is built with -race: its programs need far more memory.
const raceDetector = false
