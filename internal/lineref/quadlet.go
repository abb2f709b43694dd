package lineref

import (
	"context"
	"strings"

	"github.com/docker-cghistory/docker-cghistory/internal/ref"
)

// KindQuadletImage is the place Podman Quadlet units name images.
const KindQuadletImage ref.Kind = "Image="

// Quadlet reads Podman Quadlet units (.container, .image, .volume, .build):
// their Image= lines. An Image= naming another unit (app.image, app.build)
// is pinned in that unit; systemd specifiers (%i) are left alone.
var Quadlet ref.Finder = quadlet{}

type quadlet struct{}

func (quadlet) FileKind() ref.FileKind { return "quadlet" }

func (quadlet) Find(_ context.Context, _ string, src []byte) ([]ref.Found, []ref.Skipped, error) {
	ls, err := lines(src)
	if err != nil {
		return nil, nil, err
	}
	var found []ref.Found
	var skipped []ref.Skipped
	for i, l := range ls {
		key, v, ok := strings.Cut(l.text, "=")
		if !ok || strings.TrimSpace(key) != "Image" || strings.HasPrefix(strings.TrimSpace(key), "#") {
			continue
		}
		at := len(key) + 1
		switch t := strings.TrimSpace(v); {
		case strings.HasSuffix(t, "\\") || i > 0 && strings.HasSuffix(ls[i-1].text, "\\"):
			skipped = append(skipped, ref.Skipped{Kind: KindQuadletImage, Line: l.n, Text: t, Reason: "continued line"})
			continue
		case strings.HasSuffix(t, ".image") || strings.HasSuffix(t, ".build"):
			skipped = append(skipped, ref.Skipped{Kind: KindQuadletImage, Line: l.n, Text: t, Reason: "names a Quadlet unit: pinned there"})
			continue
		}
		fd, skip := value(KindQuadletImage, l, at, v)
		if skip != nil {
			skipped = append(skipped, *skip)
			continue
		}
		found = append(found, fd)
	}
	return found, skipped, nil
}
