// Command edge runs int8 ResNet classifiers on a Raspberry Pi (or any Linux
// host): on image files, camera frames and streams, with benchmarks,
// accuracy evaluation and board detection.
//
// Each subcommand lives in its own file (cmd_<name>.go) and registers itself
// with app from init; the logic lives in the library packages.
package main

import "github.com/piresnet/piresnet/internal/cli"

var app = &cli.App{
	Name:    "edge",
	Summary: "int8 ResNet classifier for Raspberry Pi (pure Go, any input size)",
}

func main() { app.Main() }
