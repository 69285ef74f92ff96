package ctlv3

import (
	"io"
	"math"
	"regexp"
	"strings"
	"unicode"
)

// writeTable draws the tables of etcdctl's table format, byte for byte what etcdctl's
// table library (olekukonko/tablewriter v0.0.5, as etcdctl configures it) draws:
//
//	+------------------+---------+
//	|        ID        | STATUS  |     headers upper-cased, '_' as ' ', centred
//	+------------------+---------+
//	| 61f97220ab052a12 | started |     cells right-aligned
//	+------------------+---------+
//
// A cell wider than 30 columns is wrapped at spaces into lines of at most 30 columns
// (or the width of its longest word), choosing the breaks that minimise the sum of the
// squared gaps at the line ends. Line breaks inside a cell are treated as spaces.
// The lines of a row that are shorter than the row hold two spaces, right-aligned.
func writeTable(w io.Writer, hdr []string, rows [][]string) {
	var widths []int
	cells := func(row []string) (lines [][]string, height int) {
		for i, v := range row {
			ls, width := wrapCell(v)
			if i >= len(widths) {
				widths = append(widths, width)
			} else if width > widths[i] {
				widths[i] = width
			}
			lines = append(lines, ls)
			height = max(height, len(ls))
		}
		return lines, height
	}

	hdrLines, hdrHeight := cells(hdr)
	type tableRow struct {
		lines  [][]string
		height int
	}
	var body []tableRow
	for _, row := range rows {
		ls, h := cells(row)
		body = append(body, tableRow{ls, h})
	}

	var b strings.Builder
	rule := func() {
		b.WriteString("+")
		for _, wd := range widths {
			b.WriteString(strings.Repeat("-", wd+2) + "+")
		}
		b.WriteString("\n")
	}

	rule()
	for x := 0; x < hdrHeight; x++ {
		b.WriteString("|")
		for y, wd := range widths {
			h := ""
			if y < len(hdrLines) && x < len(hdrLines[y]) {
				h = hdrLines[y][x]
			}
			b.WriteString(" " + padCenter(tableTitle(h), wd) + " |")
		}
		b.WriteString("\n")
	}
	rule()
	for _, row := range body {
		for x := 0; x < row.height; x++ {
			for y, col := range row.lines {
				s := "  "
				if x < len(col) {
					s = col[x]
				}
				b.WriteString("| " + padLeft(s, widths[y]) + " ")
			}
			b.WriteString("|\n")
		}
	}
	rule()
	io.WriteString(w, b.String())
}

// wrapCell splits a cell into the lines it is drawn on and returns their width.
func wrapCell(s string) ([]string, int) {
	const maxWidth = 30
	raw := strings.Split(s, "\n")
	width := 0
	for _, l := range raw {
		width = max(width, displayWidth(l))
	}
	width = min(width, maxWidth)
	lines := wrapString(strings.Join(raw, " "), width)
	for _, l := range lines {
		width = max(width, displayWidth(l))
	}
	return lines, width
}

// wrapString breaks s at single spaces into lines of at most lim columns, raising lim to
// the widest word.
func wrapString(s string, lim int) []string {
	words := strings.Split(strings.ReplaceAll(s, "\n", " "), " ")
	for _, wd := range words {
		lim = max(lim, displayWidth(wd))
	}
	var lines []string
	for _, ws := range wrapWords(words, lim) {
		lines = append(lines, strings.Join(ws, " "))
	}
	return lines
}

// wrapWords splits words into lines of at most lim columns with the least raggedness:
// best[i] is the cheapest way to lay out words[i:], where a line that is not the last
// costs the square of its gap, the last line costs nothing, and a line over the limit
// costs a large penalty on top. Ties keep the earliest break.
func wrapWords(words []string, lim int) [][]string {
	const penalty = 1e5
	n := len(words)
	// lineWidth(i, j) is the width of words[i..j] joined by one space.
	start := make([]int, n+1)
	for i, wd := range words {
		start[i+1] = start[i] + displayWidth(wd) + 1
	}
	lineWidth := func(i, j int) int { return start[j+1] - start[i] - 1 }

	best := make([]int, n)
	next := make([]int, n)
	for i := n - 1; i >= 0; i-- {
		if lineWidth(i, n-1) <= lim {
			best[i], next[i] = 0, n
			continue
		}
		best[i] = math.MaxInt32
		for j := i + 1; j < n; j++ {
			gap := lim - lineWidth(i, j-1)
			cost := gap*gap + best[j]
			if lineWidth(i, j-1) > lim {
				cost += penalty
			}
			if cost < best[i] {
				best[i], next[i] = cost, j
			}
		}
	}
	var lines [][]string
	for i := 0; i < n; i = next[i] {
		lines = append(lines, words[i:next[i]])
	}
	return lines
}

// tableTitle formats a header: '_' and most '.' become spaces (not a '.' between digits),
// the result is trimmed and upper-cased.
func tableTitle(name string) string {
	rs := []rune(name)
	digitOrSpace := func(r rune) bool { return ('0' <= r && r <= '9') || r == ' ' }
	for i, r := range rs {
		switch r {
		case '_':
			rs[i] = ' '
		case '.':
			if (i != 0 && !digitOrSpace(rs[i-1])) || (i != len(rs)-1 && !digitOrSpace(rs[i+1])) {
				rs[i] = ' '
			}
		}
	}
	out := strings.TrimSpace(string(rs))
	if out == "" && name != "" {
		out = " "
	}
	return strings.ToUpper(out)
}

func padCenter(s string, width int) string {
	gap := width - displayWidth(s)
	if gap <= 0 {
		return s
	}
	left := gap / 2
	return strings.Repeat(" ", left) + s + strings.Repeat(" ", gap-left)
}

func padLeft(s string, width int) string {
	gap := width - displayWidth(s)
	if gap <= 0 {
		return s
	}
	return strings.Repeat(" ", gap) + s
}

var ansiEscape = regexp.MustCompile("\033\\[(?:[0-9]{1,3}(?:;[0-9]{1,3})*)?[m|K]")

// displayWidth is the number of terminal columns of s: ANSI colour codes and control and
// combining characters take none, East Asian wide characters take two. (The table library
// also widens ambiguous characters under a CJK locale; larchctl does not.)
func displayWidth(s string) int {
	n := 0
	for _, r := range ansiEscape.ReplaceAllLiteralString(s, "") {
		switch {
		case r < 0x20 || (r >= 0x7f && r < 0xa0):
		case unicode.In(r, unicode.Mn, unicode.Me, unicode.Cf):
		case isWide(r):
			n += 2
		default:
			n++
		}
	}
	return n
}

// isWide reports the East Asian wide and fullwidth ranges that matter in practice.
func isWide(r rune) bool {
	switch {
	case r >= 0x1100 && r <= 0x115f, r >= 0x2e80 && r <= 0x303e, r >= 0x3041 && r <= 0x33ff,
		r >= 0x3400 && r <= 0x4dbf, r >= 0x4e00 && r <= 0x9fff, r >= 0xa000 && r <= 0xa4cf,
		r >= 0xac00 && r <= 0xd7a3, r >= 0xf900 && r <= 0xfaff, r >= 0xfe30 && r <= 0xfe4f,
		r >= 0xff00 && r <= 0xff60, r >= 0xffe0 && r <= 0xffe6, r >= 0x1f300 && r <= 0x1f64f,
		r >= 0x1f900 && r <= 0x1f9ff, r >= 0x20000 && r <= 0x3fffd:
		return true
	}
	return false
}
