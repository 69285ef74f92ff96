package ctlv3

import (
	"fmt"
	"math"
)

// humanBytes writes a byte count in SI units the way etcdctl's humanize library does:
// "9 B", "20 kB", "2.1 GB". Values under 10 of a unit keep one decimal; the rest are
// rounded to whole units. The unit is chosen with floating-point logarithms, as there,
// so the results agree at the unit boundaries too (999999 is "1000 kB").
func humanBytes(n uint64) string {
	if n < 10 {
		return fmt.Sprintf("%d B", n)
	}
	units := []string{"B", "kB", "MB", "GB", "TB", "PB", "EB"}
	e := math.Floor(math.Log(float64(n)) / math.Log(1000))
	v := math.Floor(float64(n)/math.Pow(1000, e)*10+0.5) / 10
	if v < 10 {
		return fmt.Sprintf("%.1f %s", v, units[int(e)])
	}
	return fmt.Sprintf("%.0f %s", v, units[int(e)])
}
