package dockerfile

import (
	"github.com/docker-cghistory/docker-cghistory/internal/ref"
	"strings"
	"testing"
)

const digest = "@sha256:0000000000000000000000000000000000000000000000000000000000000000"

// pinAll inserts digest after every reference that has none.
func pinAll(t *testing.T, src string) (string, *File) {
	t.Helper()
	f, err := Find([]byte(src))
	if err != nil {
		t.Fatalf("Find: %v", err)
	}
	var edits []ref.Edit
	for _, r := range f.Refs {
		if r.DigestStart < 0 {
			edits = append(edits, ref.Edit{Start: r.End, End: r.End, Text: digest})
		}
	}
	out, err := ref.Apply([]byte(src), edits)
	if err != nil {
		t.Fatal(err)
	}
	return string(out), f
}

func TestPinCases(t *testing.T) {
	D := digest
	cases := []struct {
		name, in, want string
		skipped        []string // texts reported as not pinnable
	}{
		{"simple", "FROM python:3.12\nRUN x\n", "FROM python:3.12" + D + "\nRUN x\n", nil},
		{"no tag", "FROM python\n", "FROM python" + D + "\n", nil},
		{"latest kept", "FROM cgr.dev/chainguard/go:latest-dev\n", "FROM cgr.dev/chainguard/go:latest-dev" + D + "\n", nil},
		{"no final newline", "FROM nginx:latest", "FROM nginx:latest" + D, nil},
		{"CRLF", "FROM nginx:1\r\nRUN a \\\r\n  b\r\n", "FROM nginx:1" + D + "\r\nRUN a \\\r\n  b\r\n", nil},
		{"BOM", "\xEF\xBB\xBFFROM alpine:3\n", "\xEF\xBB\xBFFROM alpine:3" + D + "\n", nil},
		{"lowercase from as", "from golang:1.22 as build\nfrom build as test\nfrom scratch\n", "from golang:1.22" + D + " as build\nfrom build as test\nfrom scratch\n", nil},
		{"tabs and spaces", "FROM\t--platform=linux/amd64\t  alpine:3\tAS\tx\n", "FROM\t--platform=linux/amd64\t  alpine:3" + D + "\tAS\tx\n", nil},
		{"continuation", "FROM \\\n  --platform=$BUILDPLATFORM \\\n  # a comment\n\n  golang:1.22 \\\n  AS build\n", "FROM \\\n  --platform=$BUILDPLATFORM \\\n  # a comment\n\n  golang:1.22" + D + " \\\n  AS build\n", nil},
		{"escape directive", "# escape=`\nFROM `\n  mcr.microsoft.com/windows:ltsc2022\nRUN dir c:\\\n", "# escape=`\nFROM `\n  mcr.microsoft.com/windows:ltsc2022" + D + "\nRUN dir c:\\\n", nil},
		{"heredoc with FROM", "FROM alpine:3\nRUN <<EOF\nFROM ubuntu:22.04\nEOF\nCOPY <<EOF /x\nFROM debian\nEOF\n", "FROM alpine:3" + D + "\nRUN <<EOF\nFROM ubuntu:22.04\nEOF\nCOPY <<EOF /x\nFROM debian\nEOF\n", nil},
		{"comments untouched", "# FROM evil:1\nFROM ok:1 # not a comment? it is an arg\n", "# FROM evil:1\nFROM ok:1" + D + " # not a comment? it is an arg\n", nil},
		{"stage index and name", "FROM a:1 AS one\nFROM b:2\nCOPY --from=one /x /y\nCOPY --from=0 /x /y\nCOPY --from=nginx:1.27 /etc/nginx /etc/nginx\n",
			"FROM a:1" + D + " AS one\nFROM b:2" + D + "\nCOPY --from=one /x /y\nCOPY --from=0 /x /y\nCOPY --from=nginx:1.27" + D + " /etc/nginx /etc/nginx\n", nil},
		{"run mount", "FROM a:1 AS b\nRUN --mount=type=cache,target=/c --mount=type=bind,from=busybox:1.36,source=/bin,target=/b --mount=from=b,target=/x true\n",
			"FROM a:1" + D + " AS b\nRUN --mount=type=cache,target=/c --mount=type=bind,from=busybox:1.36" + D + ",source=/bin,target=/b --mount=from=b,target=/x true\n", nil},
		{"arg default", "ARG BASE=cgr.dev/chainguard/static:latest\nFROM ${BASE}\nFROM $BASE AS two\n", "ARG BASE=cgr.dev/chainguard/static:latest" + D + "\nFROM ${BASE}\nFROM $BASE AS two\n", nil},
		{"arg quoted", "ARG BASE=\"alpine:3\" OTHER=1\nFROM $BASE\n", "ARG BASE=\"alpine:3" + D + "\" OTHER=1\nFROM $BASE\n", nil},
		{"arg without default", "ARG BASE\nFROM ${BASE}\n", "ARG BASE\nFROM ${BASE}\n", []string{"${BASE}"}},
		{"partial variable", "ARG TAG=1.22\nFROM golang:${TAG}-dev\nFROM ${REG}/x:1\n", "ARG TAG=1.22\nFROM golang:${TAG}-dev\nFROM ${REG}/x:1\n", []string{"golang:${TAG}-dev", "${REG}/x:1"}},
		// The ARG holds the tag: the digest goes beside it, quotes kept.
		{"tag arg", "ARG TAG=1.22\nFROM golang:${TAG}\nFROM cgr.dev/x/golang:$TAG AS b\n", "ARG TAG=1.22\nFROM golang:${TAG}\nFROM cgr.dev/x/golang:$TAG AS b\n", []string{"1.22"}},
		{"tag arg pinned", "ARG PY=\"3.12\"\nFROM localhost:5000/python:${PY} AS a\nFROM localhost:5000/python:$PY\n", "ARG PY=\"3.12" + D + "\"\nFROM localhost:5000/python:${PY} AS a\nFROM localhost:5000/python:$PY\n", nil},
		{"tag arg used in a stage", "ARG PY=3.12\nFROM python:${PY}\nARG PY\nRUN echo $PY\n", "ARG PY=3.12\nFROM python:${PY}\nARG PY\nRUN echo $PY\n", []string{"3.12"}},
		{"arg after FROM is not global", "FROM a:1\nARG BASE=b:2\nFROM $BASE\n", "FROM a:1" + D + "\nARG BASE=b:2\nFROM $BASE\n", []string{"$BASE"}},
		{"already pinned", "FROM a:1@sha256:" + strings.Repeat("f", 64) + "\n", "FROM a:1@sha256:" + strings.Repeat("f", 64) + "\n", nil},
		{"case of stage ref", "FROM a:1 AS Build\nFROM build\n", "FROM a:1" + D + " AS Build\nFROM build\n", nil},
		{"split reference", "FROM ubu\\\nntu:22.04\n", "FROM ubu\\\nntu:22.04\n", []string{"ubuntu:22.04"}},
		{"onbuild ignored", "FROM a:1\nONBUILD FROM b:2\n", "FROM a:1" + D + "\nONBUILD FROM b:2\n", nil},
		{"stage named after its image", "FROM alpine AS alpine\nFROM golang:1 AS Golang\nFROM alpine\n", "FROM alpine" + D + " AS alpine\nFROM golang:1" + D + " AS Golang\nFROM alpine\n", nil},
		{"copy from a later stage", "FROM golang:1.22\nCOPY --from=assets /a /b\nRUN --mount=from=assets,target=/x true\nFROM node:20 AS assets\n",
			"FROM golang:1.22" + D + "\nCOPY --from=assets /a /b\nRUN --mount=from=assets,target=/x true\nFROM node:20" + D + " AS assets\n", nil},
		{"arg default names a stage", "ARG VARIANT=prod\nFROM golang:1 AS prod\nFROM ${VARIANT}\n", "ARG VARIANT=prod\nFROM golang:1" + D + " AS prod\nFROM ${VARIANT}\n", nil},
		{"arg default is scratch", "ARG img=scratch\nARG UP=SCRATCH\nFROM $img\nFROM ${UP} AS final\n", "ARG img=scratch\nARG UP=SCRATCH\nFROM $img\nFROM ${UP} AS final\n", nil},
		{"mount key case", "FROM a:1\nRUN --mount=type=bind,From=busybox:1.36,target=/b true\n", "FROM a:1" + D + "\nRUN --mount=type=bind,From=busybox:1.36" + D + ",target=/b true\n", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			checkPinProperty(t, []byte(tc.in))
			got, f := pinAll(t, tc.in)
			if got != tc.want {
				t.Errorf("got\n%q\nwant\n%q", got, tc.want)
			}
			var skipped []string
			for _, s := range f.Skipped {
				skipped = append(skipped, s.Text)
			}
			if strings.Join(skipped, "|") != strings.Join(tc.skipped, "|") {
				t.Errorf("skipped = %q, want %q", skipped, tc.skipped)
			}
			// Idempotent: a second pass finds everything pinned.
			again, _ := pinAll(t, got)
			if again != got {
				t.Errorf("second pass changed the file:\n%q", again)
			}
		})
	}
}

func TestRefDetails(t *testing.T) {
	src := "FROM --platform=linux/arm64 a:1 AS x\nFROM x\nCOPY --from=b:2 / /\n"
	f, err := Find([]byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Refs) != 2 {
		t.Fatalf("refs = %+v", f.Refs)
	}
	r := f.Refs[0]
	if r.Kind != ref.KindFrom || r.Line != 1 || r.Text != "a:1" || r.Platform != "linux/arm64" || src[r.Start:r.End] != "a:1" {
		t.Errorf("ref 0 = %+v", r)
	}
	if r := f.Refs[1]; r.Kind != ref.KindCopyFrom || r.Line != 3 || src[r.Start:r.End] != "b:2" {
		t.Errorf("ref 1 = %+v", r)
	}
}

func TestFindErrors(t *testing.T) {
	if _, err := Find([]byte("FROM a\x00b\n")); err != ErrBinary {
		t.Errorf("binary: %v", err)
	}
	if _, err := Find([]byte("FROM a:1\nRUN <<EOF\nunterminated\n")); err == nil {
		t.Log("buildkit accepts unterminated heredocs") // not an error in buildkit
	}
	if _, err := Find([]byte("# escape=x\nFROM a\n")); err == nil {
		t.Error("invalid escape directive accepted")
	}
}

func TestSyntaxDirective(t *testing.T) {
	for _, tc := range []struct{ src, want string }{
		{"# syntax=docker/dockerfile:1.7\nFROM a:1\n", "docker/dockerfile:1.7"},
		{"\xEF\xBB\xBF#syntax = docker/dockerfile:1@sha256:" + strings.Repeat("a", 64) + "\nFROM a:1\n", "docker/dockerfile:1@sha256:" + strings.Repeat("a", 64)},
		{"# escape=`\n# syntax=docker/dockerfile:1\nFROM a:1\n", "docker/dockerfile:1"},
		{"FROM a:1\n# syntax=docker/dockerfile:1\n", ""}, // not a directive after an instruction
	} {
		found, _, err := Refs([]byte(tc.src))
		if err != nil {
			t.Fatal(err)
		}
		got := ""
		for _, f := range found {
			if f.Kind == ref.KindSyntax {
				e, _ := f.Pin(f.Image.Digest)
				got = tc.src[e.Start:e.End]
			}
		}
		if got != tc.want {
			t.Errorf("%q: syntax span %q, want %q", tc.src, got, tc.want)
		}
	}
}
