package decode

// SessionLen is the length of a MoldUDP64 session name.
const SessionLen = 10

// Session is a MoldUDP64 session name: 10 bytes of ASCII, space padded on the
// right. It is a value type; comparing two sessions with == is cheap.
type Session [SessionLen]byte

// MakeSession returns s as a space-padded Session. It fails with
// ErrSessionLength when s is longer than 10 bytes and with ErrSessionChar when
// s holds a byte outside printable ASCII (0x20-0x7E).
func MakeSession(s string) (Session, error) {
	var out Session
	if len(s) > SessionLen {
		return out, ErrSessionLength
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return out, ErrSessionChar
		}
	}
	n := copy(out[:], s)
	for ; n < SessionLen; n++ {
		out[n] = ' '
	}
	return out, nil
}

// String returns the session with trailing spaces trimmed. It allocates.
func (s Session) String() string {
	n := SessionLen
	for n > 0 && s[n-1] == ' ' {
		n--
	}
	return string(s[:n])
}
