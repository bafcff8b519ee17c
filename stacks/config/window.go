package config

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	// The time zone database inside the binary: a deployment window's time zone is checked at
	// synth on any machine, even one without /usr/share/zoneinfo (CodeBuild images, containers).
	_ "time/tzdata"
)

// DeploymentWindow is when an environment's deploy stage may start: CodePipeline's
// DeploymentWindow rule in the stage's entry condition. Outside the window the run waits at
// the stage's entry until the window opens.
type DeploymentWindow struct {
	// Cron is CodePipeline's cron form: seconds (only *), minutes, hours, day-of-month, month,
	// day-of-week, and an optional year, e.g. "* * 9-16 ? * MON-FRI" (weekdays, 9:00-16:59).
	Cron string `json:"cron"`
	// TimeZone is an IANA time zone name ("Europe/Berlin"); empty means UTC.
	TimeZone string `json:"timezone,omitempty"`
}

// cronField is one field of the cron form: its name, the range of its numbers, the names that
// may stand for numbers, and the special characters besides , - * / that it allows.
type cronField struct {
	name     string
	min, max int
	names    []string
	special  string
}

var cronFields = []cronField{
	{name: "seconds"},
	{name: "minutes", min: 0, max: 59},
	{name: "hours", min: 0, max: 23},
	{name: "day-of-month", min: 1, max: 31, special: "?LW"},
	{name: "month", min: 1, max: 12, names: []string{"JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"}},
	{name: "day-of-week", min: 1, max: 7, names: []string{"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"}, special: "?L#"},
	{name: "year", min: 1970, max: 2199},
}

var cronAtom = regexp.MustCompile(`^[A-Z0-9]+$`)

// Problem returns what is wrong with the window, or "".
func (w DeploymentWindow) Problem() string {
	if w.TimeZone != "" {
		if _, err := time.LoadLocation(w.TimeZone); err != nil || w.TimeZone == "Local" {
			return fmt.Sprintf("timezone %q is not an IANA time zone; use a name such as UTC, Europe/Berlin or America/New_York", w.TimeZone)
		}
	}
	fields := strings.Fields(w.Cron)
	if len(fields) != 6 && len(fields) != 7 {
		return fmt.Sprintf("cron %q has %d fields; CodePipeline's has 6 or 7: seconds minutes hours day-of-month month day-of-week [year], e.g. \"* * 9-16 ? * MON-FRI\"",
			w.Cron, len(fields))
	}
	if fields[0] != "*" {
		return fmt.Sprintf("cron %q: the seconds field must be *", w.Cron)
	}
	for i, f := range fields[1:] {
		if why := cronFields[i+1].problem(strings.ToUpper(f)); why != "" {
			return fmt.Sprintf("cron %q: %s field %q %s", w.Cron, cronFields[i+1].name, f, why)
		}
	}
	dom, dow := fields[3], fields[5]
	if (dom == "?") == (dow == "?") {
		return fmt.Sprintf("cron %q: exactly one of day-of-month (%s) and day-of-week (%s) must be ?, e.g. \"* * 9-16 ? * MON-FRI\"", w.Cron, dom, dow)
	}
	return ""
}

// problem checks one field: lists of ranges, steps and the field's special characters.
func (f cronField) problem(value string) string {
	if value == "?" {
		if !strings.Contains(f.special, "?") {
			return "may not be ?"
		}
		return ""
	}
	for _, part := range strings.Split(value, ",") {
		base, step, hasStep := strings.Cut(part, "/")
		if hasStep {
			if n, err := strconv.Atoi(step); err != nil || n < 1 {
				return "has a step that is not a positive number"
			}
		}
		if base == "*" || f.specialOK(base) {
			continue
		}
		lo, hi, isRange := strings.Cut(base, "-")
		atoms := []string{lo}
		if isRange {
			atoms = append(atoms, hi)
		}
		for _, atom := range atoms {
			if strings.ContainsAny(atom, "LW#") && !slices.Contains(f.names, atom) {
				return "uses L, W or # in a way this field does not allow"
			}
			if !cronAtom.MatchString(atom) {
				return "is not a number, name, range, list or step"
			}
			if n, ok := f.number(atom); !ok || n < f.min || n > f.max {
				return fmt.Sprintf("is out of range %d-%d", f.min, f.max)
			}
		}
	}
	return ""
}

var (
	dayOfMonthSpecial = regexp.MustCompile(`^(L(-[0-9]+)?|LW|[0-9]+W)$`)
	dayOfWeekSpecial  = regexp.MustCompile(`^(L|[1-7]L|[1-7]#[1-5])$`)
)

// specialOK accepts the forms of L, W and # that the field allows: L, L-3, 15W, LW, 6L, 2#1.
func (f cronField) specialOK(v string) bool {
	switch f.name {
	case "day-of-month":
		return dayOfMonthSpecial.MatchString(v)
	case "day-of-week":
		return dayOfWeekSpecial.MatchString(v)
	}
	return false
}

// number reads a field's number or name ("MON", "JAN").
func (f cronField) number(atom string) (int, bool) {
	if n, err := strconv.Atoi(atom); err == nil {
		return n, true
	}
	for i, name := range f.names {
		if atom == name {
			return f.min + i, true
		}
	}
	return 0, false
}
