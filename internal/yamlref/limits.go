package yamlref

import (
	"context"
	"fmt"

	"go.yaml.in/yaml/v3"
)

// Limits on one file. yaml.v3 keeps aliases as pointers when it parses
// into yaml.Node (its "excessive aliasing" check only runs when decoding
// into Go values), and every finder follows aliases and merge keys, so a
// kilobyte of nested "<<: [*a, *a, …]" stands for more mappings than any
// machine can walk. A file is measured once, in time linear in its size,
// before any finder runs.
const (
	// MaxExpansion bounds the nodes a file's aliases and merge keys stand
	// for, summed over the file's documents (of the 106 real files in the
	// project's corpus, the most adds 544).
	MaxExpansion = 1_000_000
	// MaxDepth bounds how deep collections nest, in the file and through
	// aliases (the corpus nests 13 levels at most; yaml.v3 stops at 10,000
	// flow and 10,000 block levels, each).
	MaxDepth = 1000
)

// limitError is a file over one of the limits.
type limitError struct{ msg string }

func (e *limitError) Error() string { return e.msg }

// measure checks a stream's documents against the limits: the expanded
// size of each anchored node is computed once, and every alias adds its
// anchor's size to the file's count.
type measure struct {
	ctx     context.Context
	size    map[*yaml.Node]int // anchored nodes: expanded size, -1 while being measured
	through int                // nodes the aliases measured so far stand for
	steps   int
}

// node returns n's expanded size (capped past MaxExpansion), or the limit
// n breaks; depth counts the collections around n.
func (m *measure) node(n *yaml.Node, depth int) (int, error) {
	if m.steps++; m.steps%4096 == 0 {
		if err := m.ctx.Err(); err != nil {
			return 0, err
		}
	}
	switch n.Kind {
	case yaml.AliasNode:
		if n.Alias == nil {
			return 1, nil
		}
		size, ok := m.size[n.Alias]
		if ok && size < 0 {
			return 0, &limitError{fmt.Sprintf("line %d: anchor &%s contains an alias to itself, so it expands forever", n.Line, n.Value)}
		}
		if !ok { // an anchor not met before its alias: measure it here
			var err error
			if size, err = m.node(n.Alias, depth); err != nil {
				return 0, err
			}
		}
		if m.through = capped(m.through + size); m.through > MaxExpansion {
			return 0, &limitError{fmt.Sprintf("line %d: the file expands to more than %d nodes through aliases and merge keys (at *%s)", n.Line, MaxExpansion, n.Value)}
		}
		return size, nil
	case yaml.SequenceNode, yaml.MappingNode, yaml.DocumentNode:
		if size, ok := m.size[n]; ok && size >= 0 {
			return size, nil // measured through an alias already
		}
		if n.Kind != yaml.DocumentNode {
			if depth++; depth > MaxDepth {
				return 0, &limitError{fmt.Sprintf("line %d: the file nests deeper than %d levels", n.Line, MaxDepth)}
			}
		}
		if n.Anchor != "" {
			m.size[n] = -1
		}
		total := 1
		for _, c := range n.Content {
			size, err := m.node(c, depth)
			if err != nil {
				return 0, err
			}
			total = capped(total + size)
		}
		if n.Anchor != "" {
			m.size[n] = total
		}
		return total, nil
	}
	return 1, nil
}

// capped keeps sizes from overflowing: past MaxExpansion, any size is as
// bad as another.
func capped(n int) int { return min(n, MaxExpansion+1) }
