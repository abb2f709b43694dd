// Command release builds docker-cghistory's release artifacts (make dist,
// make image); the work is internal/release's.
//
//	go run ./scripts/release dist  -version V [-epoch UNIX] [-platforms linux/amd64,...] [-out dist]
//	go run ./scripts/release image -version V -revision SHA [-base REF] [-platforms ...] [-out dist] [-push REF]
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/docker-cghistory/docker-cghistory/internal/release"
	"github.com/google/go-containerregistry/pkg/name"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "release:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	if len(args) == 0 || (args[0] != "dist" && args[0] != "image") {
		return fmt.Errorf("usage: release dist|image [flags]")
	}
	fs := flag.NewFlagSet(args[0], flag.ContinueOnError)
	version := fs.String("version", "dev", "the version (git describe)")
	epoch := fs.String("epoch", os.Getenv("SOURCE_DATE_EPOCH"), "the time of every file, in Unix seconds (the commit's time)")
	platforms := fs.String("platforms", "", "comma-separated platforms (default: every release platform; linux ones for image)")
	out := fs.String("out", "dist", "the output directory")
	base := fs.String("base", "cgr.dev/chainguard/static:latest", "image: the base image")
	revision := fs.String("revision", "", "image: the commit, for the revision label")
	source := fs.String("source", "https://github.com/docker-cghistory/docker-cghistory", "image: the source label")
	push := fs.String("push", "", "image: also push the image to this reference")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	var t time.Time
	if *epoch != "" {
		n, err := strconv.ParseInt(*epoch, 10, 64)
		if err != nil {
			return fmt.Errorf("-epoch %q: want Unix seconds", *epoch)
		}
		t = time.Unix(n, 0).UTC()
	} else {
		t = time.Unix(0, 0).UTC()
	}
	names := release.DefaultPlatforms
	if *platforms != "" {
		names = strings.Split(*platforms, ",")
	}
	var plats []release.Platform
	for _, s := range names {
		p, err := release.ParsePlatform(strings.TrimSpace(s))
		if err != nil {
			return err
		}
		if args[0] == "image" && *platforms == "" && p.OS != "linux" {
			continue
		}
		plats = append(plats, p)
	}
	ctx := context.Background()
	if args[0] == "dist" {
		src, err := os.Getwd()
		if err != nil {
			return err
		}
		return release.Dist(ctx, release.Options{
			Source: src, Out: *out, Version: *version, Platforms: plats, Epoch: t,
			Docs: []string{"LICENSE", "README.md"}, Log: os.Stderr,
		})
	}
	idx, err := release.Image(ctx, release.ImageOptions{
		Base: *base, Dist: *out, Platforms: plats, Version: *version, Revision: *revision, Source: *source, Epoch: t,
	})
	if err != nil {
		return err
	}
	dir := filepath.Join(*out, "image")
	if err := release.WriteLayout(dir, idx); err != nil {
		return err
	}
	d, err := idx.Digest()
	if err != nil {
		return err
	}
	fmt.Printf("wrote %s (%s)\n", dir, d)
	if *push != "" {
		if _, err := release.Push(ctx, *push, idx, nil); err != nil {
			return err
		}
		r, _ := name.ParseReference(*push) // Push parsed it
		fmt.Printf("pushed %s@%s\n", r.Context().Name(), d)
	}
	return nil
}
