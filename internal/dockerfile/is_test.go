package dockerfile

import "testing"

func TestIs(t *testing.T) {
	for src, want := range map[string]bool{
		"FROM alpine\n": true,
		"# syntax=docker/dockerfile:1\nfrom alpine AS a\nRUN x\n": true,
		"ARG V=3\nFROM alpine:${V}\nCOPY . /\n":                   true,
		"\n# only a comment\n":                                    false,
		"":                                                        false,
		"RUN x\nFROM alpine\n":                                    false, // FROM must come first
		"apiVersion: v1\nkind: Pod\n":                             false,
		"FROM alpine\nimage: x\n":                                 false, // not an instruction
		"Notes\nFROM the base image, then RUN tests.\n":           false,
		"FROM alpine\x00\n":                                       false,
	} {
		if got := Is([]byte(src)); got != want {
			t.Errorf("Is(%q) = %v, want %v", src, got, want)
		}
	}
}
