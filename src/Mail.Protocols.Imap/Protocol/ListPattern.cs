using System.Text;

namespace Mail.Protocols.Imap.Protocol;

/// <summary>
/// The canonical LIST pattern (RFC 9051 §6.3.9, RFC 5258 §3): the reference name followed by the mailbox pattern,
/// where "*" matches any run of characters and "%" any run without the hierarchy delimiter. The stores here all use
/// "/" (<see cref="Storage.IMailboxStore.HierarchySeparator"/>). Names compare ordinally, except that the "INBOX" at
/// the start of a name (INBOX itself or a name below it) matches in any ASCII case, as INBOX is case-insensitive.
/// </summary>
/// <remarks>
/// Matching runs over the set of pattern positions (no backtracking, no recursion). A run of wildcards is first
/// reduced to one ("*" if it holds a "*", else "%": they match the same names), and a name shorter than the pattern's
/// literal characters is refused at once, so a match costs at most O(name length²), whatever the client sent.
/// </remarks>
internal sealed class ListPattern
{
    private readonly string _pattern;
    private readonly int _literals;
    private readonly char _delimiter;

    /// <summary>The pattern <paramref name="reference"/> + <paramref name="pattern"/> (the reference is a prefix, as in the
    /// examples of RFC 9051 §6.3.9) for a store whose hierarchy delimiter is <paramref name="delimiter"/>.</summary>
    public ListPattern(string reference, string pattern, char delimiter)
    {
        ArgumentNullException.ThrowIfNull(reference);
        ArgumentNullException.ThrowIfNull(pattern);
        var combined = reference + pattern;
        var reduced = new StringBuilder(combined.Length);
        for (var i = 0; i < combined.Length; i++)
        {
            var c = combined[i];
            if (c is not ('*' or '%'))
            {
                reduced.Append(c);
                _literals++;
                continue;
            }
            var star = false;
            for (; i < combined.Length && combined[i] is '*' or '%'; i++)
            {
                star |= combined[i] == '*';
            }
            i--;
            reduced.Append(star ? '*' : '%');
        }
        _pattern = reduced.ToString();
        _delimiter = delimiter;
    }

    /// <summary>The canonical pattern (with runs of wildcards reduced).</summary>
    public string Pattern => _pattern;

    /// <summary>Whether <paramref name="name"/> (a full mailbox name) matches.</summary>
    public bool Matches(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (name.Length < _literals)
        {
            return false;
        }
        var states = _pattern.Length + 1;
        Span<bool> current = states <= 512 ? stackalloc bool[states] : new bool[states];
        Span<bool> next = states <= 512 ? stackalloc bool[states] : new bool[states];
        current[0] = true;
        Close(current);
        var inboxPrefix = name.StartsWith("INBOX", StringComparison.Ordinal) && (name.Length == 5 || name[5] == _delimiter);
        for (var i = 0; i < name.Length; i++)
        {
            var c = name[i];
            next.Clear();
            var any = false;
            for (var j = 0; j < _pattern.Length; j++)
            {
                if (!current[j])
                {
                    continue;
                }
                var p = _pattern[j];
                if (p == '*' || (p == '%' && c != _delimiter))
                {
                    next[j] = true;
                    any = true;
                }
                else if (p == c || (inboxPrefix && i < 5 && char.IsAsciiLetterLower(p) && (char)(p - 32) == c))
                {
                    next[j + 1] = true;
                    any = true;
                }
            }
            if (!any)
            {
                return false;
            }
            Close(next);
            var swap = current;
            current = next;
            next = swap;
        }
        return current[_pattern.Length];
    }

    // A wildcard may match nothing: a state before one also stands after it.
    private void Close(Span<bool> states)
    {
        for (var j = 0; j < _pattern.Length; j++)
        {
            if (states[j] && _pattern[j] is '*' or '%')
            {
                states[j + 1] = true;
            }
        }
    }
}
