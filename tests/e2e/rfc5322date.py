# relayq end-to-end tests: a validating parser of the RFC 5322 date-time
# (section 3.3, with the obsolete syntax of section 4.3 that a receiver
# must accept), so that a test checks what the standard says instead of
# what one formatter happens to print (two spaces before a one-digit day,
# no day of week, no seconds, comments, "GMT" are all valid).
#
#   parse(text) -> (epoch, None) or (None, reason)
#
# epoch is the instant as seconds since 1970 UTC (obs-zone letters and
# "-0000" count as UTC). Beyond the grammar it checks what section 3.3
# asks in prose: the day of week is the one the date falls on, the day
# exists in that month of that year, hour 00-23, minute 00-59, second
# 00-60 (a leap second), year 1900 or later, zone minutes 00-59.
# Used by mailtool.py ("date", "date-table").

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep",
          "oct", "nov", "dec")
# obs-zone: the US zones, UT, GMT and the military letters (not J).
OBS_ZONES = {"ut": 0, "gmt": 0, "est": -300, "edt": -240, "cst": -360,
             "cdt": -300, "mst": -420, "mdt": -360, "pst": -480,
             "pdt": -420}
WSP = " \t"


class Bad(Exception):
    pass


def skip_comment(s, i):
    """s[i] is '('; return the index after the matching ')'."""
    depth = 0
    while i < len(s):
        c = s[i]
        if c == "\\":
            if i + 1 >= len(s):
                raise Bad("a quoted-pair at the end of a comment")
            i += 2
            continue
        if c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
            if depth == 0:
                return i + 1
        elif c in "\r\n" and s[i:i + 2] != "\r\n":
            raise Bad("a bare CR or LF in a comment")
        i += 1
    raise Bad("an unterminated comment")


def skip_cfws(s, i):
    """Skip CFWS from i; return (index, whether the last thing was FWS)."""
    fws = False
    while i < len(s):
        if s[i] in WSP:
            i += 1
            fws = True
        elif s.startswith("\r\n", i):
            if i + 2 >= len(s) or s[i + 2] not in WSP:
                raise Bad("a CRLF not followed by white space (not FWS)")
            i += 2
        elif s[i] == "(":
            i = skip_comment(s, i)
            fws = False
        else:
            break
    return i, fws


def tokenize(s):
    """Tokens (kind, text, fws_before, cfws_before): kind is 'num',
    'word' or a punctuation character (',', ':', '+', '-')."""
    toks = []
    i = 0
    while True:
        j, fws = skip_cfws(s, i)
        gap = j > i
        i = j
        if i >= len(s):
            return toks
        c = s[i]
        if c.isascii() and c.isdigit():
            k = i
            while k < len(s) and s[k].isascii() and s[k].isdigit():
                k += 1
            toks.append(("num", s[i:k], fws, gap))
        elif c.isascii() and c.isalpha():
            k = i
            while k < len(s) and s[k].isascii() and s[k].isalpha():
                k += 1
            toks.append(("word", s[i:k], fws, gap))
        elif c in ",:+-":
            k = i + 1
            toks.append((c, c, fws, gap))
        else:
            raise Bad("unexpected character %r at offset %d" % (c, i))
        i = k


def leap(y):
    return y % 4 == 0 and (y % 100 != 0 or y % 400 == 0)


def days_in_month(y, m):
    if m == 2:
        return 29 if leap(y) else 28
    return 30 if m in (4, 6, 9, 11) else 31


def days_from_civil(y, m, d):
    """Days since 1970-01-01 of a proleptic Gregorian date."""
    y -= m <= 2
    era = y // 400
    yoe = y - era * 400
    doy = (153 * (m + (-3 if m > 2 else 9)) + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


class Toks:
    def __init__(self, toks):
        self.toks = toks
        self.i = 0

    def peek(self, kind=None):
        if self.i < len(self.toks):
            t = self.toks[self.i]
            if kind is None or t[0] == kind:
                return t
        return None

    def take(self, kind, what):
        t = self.peek(kind)
        if t is None:
            got = self.peek()
            raise Bad("expected %s, got %s" % (
                what, repr(got[1]) if got else "the end"))
        self.i += 1
        return t


def two_digits(tk, what, top):
    t = tk.take("num", what)
    if len(t[1]) != 2:
        raise Bad("%s %r: not two digits" % (what, t[1]))
    v = int(t[1])
    if v > top:
        raise Bad("%s %s out of range 00-%02d" % (what, t[1], top))
    return v


def year_of(text):
    """4.3: a two-digit year below 50 is 20YY, else 19YY; three digits
    get 1900 added."""
    if len(text) < 2:
        raise Bad("year %r: fewer than two digits" % text)
    y = int(text)
    if len(text) == 2:
        return y + (2000 if y < 50 else 1900)
    if len(text) == 3:
        return y + 1900
    if y < 1900:
        raise Bad("year %s before 1900" % text)
    return y


def zone_of(tk):
    """The zone's offset east of UTC in minutes."""
    t = tk.peek()
    if t is None:
        raise Bad("no zone")
    if t[0] == "word":
        tk.i += 1
        z = t[1].lower()
        if z in OBS_ZONES:
            return OBS_ZONES[z]
        if len(z) == 1 and z != "j":
            return 0    # military letters: "equivalent to -0000"
        raise Bad("unknown zone %r" % t[1])
    sign = tk.take("+", "a zone") if t[0] == "+" else tk.take("-", "a zone")
    if not sign[2]:
        raise Bad("no white space before the zone %s" % sign[1])
    num = tk.take("num", "the zone's four digits")
    if num[3] or len(num[1]) != 4:
        raise Bad("zone %s%s: not four digits right after the sign"
                  % (sign[1], num[1]))
    hh, mm = int(num[1][:2]), int(num[1][2:])
    if mm > 59:
        raise Bad("zone %s%s: minutes %02d over 59" % (sign[1], num[1], mm))
    return (hh * 60 + mm) * (-1 if sign[1] == "-" else 1)


def parse_tokens(tk):
    dow = None
    t = tk.peek("word")
    if t is not None:
        if t[1].lower() not in DAYS:
            raise Bad("%r is not a day of week" % t[1])
        dow = DAYS.index(t[1].lower())
        tk.i += 1
        tk.take(",", "',' after the day of week")
    day = tk.take("num", "the day")
    if len(day[1]) > 2:
        raise Bad("day %r: more than two digits" % day[1])
    mon = tk.take("word", "the month")
    if mon[1].lower() not in MONTHS:
        raise Bad("%r is not a month" % mon[1])
    m = MONTHS.index(mon[1].lower()) + 1
    y = year_of(tk.take("num", "the year")[1])
    d = int(day[1])
    if not 1 <= d <= days_in_month(y, m):
        raise Bad("day %d does not exist in %s %d" % (d, mon[1], y))
    hh = two_digits(tk, "hour", 23)
    tk.take(":", "':' after the hour")
    mi = two_digits(tk, "minute", 59)
    ss = 0
    if tk.peek(":"):
        tk.i += 1
        ss = two_digits(tk, "second", 60)
    zone = zone_of(tk)
    if tk.peek() is not None:
        raise Bad("trailing %r after the zone" % tk.peek()[1])
    days = days_from_civil(y, m, d)
    if dow is not None and dow != (days + 3) % 7:   # 1970-01-01: Thu
        raise Bad("%s is not the day of week of %d %s %d (a %s)" % (
            DAYS[dow].title(), d, mon[1], y, DAYS[(days + 3) % 7].title()))
    return days * 86400 + hh * 3600 + mi * 60 + ss - zone * 60


def parse(text):
    try:
        return parse_tokens(Toks(tokenize(text))), None
    except Bad as e:
        return None, str(e)
