package inventory

import (
	"cmp"
	"strings"

	apkversion "github.com/knqyf263/go-apk-version"
	debversion "github.com/knqyf263/go-deb-version"
)

// CompareVersions orders two versions of a package by its distro's rules
// (apk or Debian), falling back to string order for other types or
// unparsable versions. It returns -1, 0 or +1.
func CompareVersions(typ, a, b string) int {
	switch typ {
	case "apk":
		va, errA := apkversion.NewVersion(a)
		vb, errB := apkversion.NewVersion(b)
		if errA == nil && errB == nil {
			return sign(va.Compare(vb))
		}
	case "deb":
		va, errA := debversion.NewVersion(a)
		vb, errB := debversion.NewVersion(b)
		if errA == nil && errB == nil {
			return sign(va.Compare(vb))
		}
	}
	return strings.Compare(a, b)
}

func sign(n int) int { return cmp.Compare(n, 0) }
