using System.Collections;
using Mail.Protocols.Storage;

namespace Mail.Protocols.Imap.Search.TextIndex;

/// <summary>
/// One SEARCH's use of its folder's word index: the BODY/TEXT strings and HEADER keys it looks for, answered per message from
/// the index where that is exact, and the messages not yet indexed indexed as their content is read.
/// </summary>
/// <remarks>
/// <para>A string made of word characters only (<see cref="WordChars"/>) is in a message's text parts exactly when one of
/// their words contains it, and in its headers exactly when one of theirs does: the index answers it without reading the
/// message, unless the string was not found and the scope cannot prove its absence (too many words, or runs longer than a word
/// and a string longer than <see cref="TextIndexLimits.MaxExactLength"/>). HEADER is answered alike from the field's
/// entries (<see cref="MessageWords.Fields"/>).</para>
/// <para>A string with separators may span words. Each of its runs of word characters must then be inside some word of the
/// message: a message where one is not (and that is complete) does not contain the string; the others are scanned.
/// A string of separators only is scanned for in every message.</para>
/// </remarks>
internal sealed class TextIndexSearch
{
    private readonly TextIndexRegistry _registry;
    private readonly SearchScope _scope;
    private readonly FolderTextIndex _index;
    private readonly IReadOnlyList<string> _needles;
    private readonly bool[] _textNeedles;
    private readonly int[][] _plans; // per needle: the query strings it needs (its runs of word characters)
    private readonly bool[] _separators; // per needle: whether it has separators (then the index only rules messages out)
    private readonly IReadOnlyList<(string Field, string Value)> _headerNeedles;
    private readonly int[][] _headerPlans; // per HEADER key: the field queries ("Field:run") it needs
    private readonly HeaderKind[] _headerKinds;
    private readonly List<string> _strings = [];
    private readonly (BitArray Body, BitArray Headers)[] _answers;
    private readonly bool _full;

    /// <summary>The most strings one search looks up in the dictionary (each costs a pass and two bit arrays over the documents).</summary>
    private const int MaxStrings = 32;

    /// <summary>The most runs of word characters of one needle with separators that are looked up.</summary>
    private const int MaxRunsPerNeedle = 4;

    private TextIndexSearch(TextIndexRegistry registry, SearchScope scope, FolderTextIndex index, IReadOnlyList<string> needles, bool[] textNeedles, IReadOnlyList<(string Field, string Value)> headerNeedles)
    {
        _registry = registry;
        _scope = scope;
        _index = index;
        _needles = needles;
        _textNeedles = textNeedles;
        _headerNeedles = headerNeedles;
        _plans = new int[needles.Count][];
        _separators = new bool[needles.Count];
        var ids = new Dictionary<string, int>(StringComparer.OrdinalIgnoreCase);
        for (var i = 0; i < needles.Count; i++)
        {
            _separators[i] = WordChars.HasSeparator(needles[i]);
            _plans[i] = Plan(ids, _separators[i] ? Runs(needles[i]) : [needles[i]]);
        }
        _headerPlans = new int[headerNeedles.Count][];
        _headerKinds = new HeaderKind[headerNeedles.Count];
        for (var j = 0; j < headerNeedles.Count; j++)
        {
            var (field, value) = headerNeedles[j];
            if (field.Length == 0 || field.Length > TextIndexLimits.MaxFieldNameLength || field.Contains(':', StringComparison.Ordinal))
            {
                _headerPlans[j] = []; // a field the index does not record: read from the header
                continue;
            }
            _headerKinds[j] = value.Length == 0 ? HeaderKind.Presence : WordChars.HasSeparator(value) ? HeaderKind.Runs : HeaderKind.Whole;
            var parts = _headerKinds[j] == HeaderKind.Runs ? Runs(value) : [value];
            _headerPlans[j] = parts.Count == 0 ? [] : Plan(ids, [.. parts.Select(part => field + ":" + part)]);
        }
        _answers = index.Query(_strings);
        _full = index.IsFull;
    }

    private enum HeaderKind : byte
    {
        Whole,
        Runs,
        Presence,
    }

    // Any of a needle's runs of word characters is a necessary condition: the longest few, which rule out the most, do.
    private static List<string> Runs(string needle) => [.. WordChars.Split(needle).OrderByDescending(w => w.Length).Take(MaxRunsPerNeedle)];

    // The ids of the strings to look up, added as needed; none (the needle is then scanned for) beyond the bound.
    private int[] Plan(Dictionary<string, int> ids, List<string> parts)
    {
        var missing = parts.Count(p => !ids.ContainsKey(p));
        if (_strings.Count + missing > MaxStrings)
        {
            return [];
        }
        var plan = new int[parts.Count];
        for (var p = 0; p < parts.Count; p++)
        {
            if (!ids.TryGetValue(parts[p], out var id))
            {
                id = _strings.Count;
                ids.Add(parts[p], id);
                _strings.Add(parts[p]);
            }
            plan[p] = id;
        }
        return plan;
    }

    /// <summary>
    /// The index of the scope's folder for these needles, loaded or started; null when the folder's UIDVALIDITY cannot be read
    /// (the search then scans as without an index).
    /// </summary>
    public static async ValueTask<TextIndexSearch?> CreateAsync(SearchScope scope, IReadOnlyList<string> needles, bool[] textNeedles, IReadOnlyList<(string Field, string Value)> headerNeedles, int messageCount, CancellationToken cancellationToken)
    {
        FolderStatus status;
        try
        {
            status = await scope.Store.GetStatusAsync(scope.User, scope.Folder, cancellationToken).ConfigureAwait(false);
        }
        catch (MailboxStoreException)
        {
            return null;
        }
        var registry = TextIndexRegistry.For(scope.Store);
        var index = await registry.GetAsync(scope.User, scope.Folder, status.UidValidity, cancellationToken).ConfigureAwait(false);
        // Expunged messages stay in the index until they are most of it: then it starts afresh (and is rebuilt as searched).
        if (index.DocumentCount > 2L * messageCount + 1024)
        {
            index.Clear();
        }
        return new TextIndexSearch(registry, scope, index, needles, textNeedles, headerNeedles);
    }

    /// <summary>Whether indexing a message is of use: it is not indexed, and the index has room.</summary>
    public bool ShouldIndex(uint uid) => !_full && !_index.Contains(uid);

    /// <summary>
    /// Answers every needle for a message from the index: <paramref name="bodyFound"/>[i] whether its text parts contain needle i,
    /// <paramref name="textFound"/>[i] whether its text parts or headers do (for TEXT needles), <paramref name="headerFound"/>[j]
    /// whether HEADER key j matches. False when the index cannot
    /// answer them all (not indexed, indexed after this search began, or a needle that must be verified): the message is scanned.
    /// </summary>
    public bool TryAnswer(uint uid, bool[] bodyFound, bool[] textFound, bool[] headerFound)
    {
        if (!_index.TryGetDocument(uid, out var document, out var flags)
            || _answers.Length > 0 && document >= _answers[0].Body.Length)
        {
            return false;
        }
        return Answer((id, headers) => headers ? _answers[id].Headers[document] : _answers[id].Body[document], flags, bodyFound, textFound, headerFound);
    }

    /// <summary>As <see cref="TryAnswer(uint, bool[], bool[], bool[])"/>, from the words just read from a message.</summary>
    public bool TryAnswer(MessageWords words, bool[] bodyFound, bool[] textFound, bool[] headerFound) =>
        Answer((id, headers) => _strings[id].Contains(':', StringComparison.Ordinal) ? HasEntry(words.Fields, _strings[id])
            : headers ? HasEntry(words.Headers, _strings[id]) || HasEntry(words.Fields, _strings[id]) : HasEntry(words.Body, _strings[id]),
            words.Flags, bodyFound, textFound, headerFound);

    /// <summary>Reads a message's words from its content and indexes it; null when it need not be (see <see cref="ShouldIndex"/>).</summary>
    public async ValueTask<MessageWords?> IndexAsync(uint uid, Stream content, MessageSummary summary, CancellationToken cancellationToken)
    {
        if (!ShouldIndex(uid))
        {
            return null;
        }
        var words = await MessageWords.ReadAsync(content, summary, cancellationToken).ConfigureAwait(false);
        _index.Add(uid, words);
        return words;
    }

    /// <summary>Saves the index if this or another search changed it (a cache: failures are ignored).</summary>
    public ValueTask SaveAsync(CancellationToken cancellationToken) => _registry.SaveAsync(_scope.User, _scope.Folder, _index, cancellationToken);

    private bool Answer(Func<int, bool, bool> has, WordFlags flags, bool[] bodyFound, bool[] textFound, bool[] headerFound)
    {
        // HEADER keys: the field's entries (in the headers' posting lists), exact as for TEXT within the field's values.
        for (var j = 0; j < _headerNeedles.Count; j++)
        {
            var plan = _headerPlans[j];
            if (plan.Length == 0)
            {
                return false;
            }
            if (_headerKinds[j] == HeaderKind.Runs)
            {
                // A run that no value of the field has rules the string out; otherwise it may be there: read the header.
                var ruledOut = false;
                foreach (var id in plan)
                {
                    ruledOut |= !has(id, true) && ProvesField(flags, id);
                }
                if (!ruledOut)
                {
                    return false;
                }
                headerFound[j] = false;
                continue;
            }
            var found = has(plan[0], true);
            if (!found && ((flags & WordFlags.FieldsIncomplete) != 0 || (_headerKinds[j] == HeaderKind.Whole && !ProvesField(flags, plan[0]))))
            {
                return false;
            }
            headerFound[j] = found;
        }
        for (var i = 0; i < _needles.Count; i++)
        {
            var plan = _plans[i];
            var text = _textNeedles[i];
            if (plan.Length == 0)
            {
                return false; // separators only: no word to look for
            }
            if (!_separators[i])
            {
                var inBody = has(plan[0], false);
                if (!inBody && !Proves(flags, plan[0], headers: false))
                {
                    return false;
                }
                bodyFound[i] = inBody;
                if (text)
                {
                    var inText = inBody || has(plan[0], true);
                    if (!inText && !Proves(flags, plan[0], headers: true))
                    {
                        return false;
                    }
                    textFound[i] = inText;
                }
                continue;
            }
            // Every run of word characters of the needle inside a word of the same scope is needed for it to occur there
            // (a run the words cannot rule out counts as there); when that holds the needle may be there, and only the scan
            // can tell.
            var candidateBody = true;
            var candidateText = true;
            foreach (var id in plan)
            {
                var inBody = has(id, false) || !Proves(flags, id, headers: false);
                candidateBody &= inBody;
                candidateText &= inBody || (text && (has(id, true) || !Proves(flags, id, headers: true)));
            }
            if (candidateBody)
            {
                return false;
            }
            bodyFound[i] = false;
            if (text)
            {
                if (candidateText)
                {
                    return false;
                }
                textFound[i] = false;
            }
        }
        return true;
    }

    /// <summary>Whether a string not among a scope's words is surely not in that scope's text.</summary>
    private bool Proves(WordFlags flags, int id, bool headers)
    {
        // The headers' words are the MIME headers' and the top-level fields' (names and values).
        var (incomplete, longRuns) = headers
            ? (WordFlags.HeadersIncomplete | WordFlags.FieldsIncomplete, WordFlags.HeadersLongRuns | WordFlags.FieldsLongRuns)
            : (WordFlags.BodyIncomplete, WordFlags.BodyLongRuns);
        return (flags & incomplete) == 0 && ((flags & longRuns) == 0 || _strings[id].Length <= TextIndexLimits.MaxExactLength);
    }

    /// <summary>Whether a string not among a message's field entries is surely not in that field's values.</summary>
    private bool ProvesField(WordFlags flags, int id)
    {
        var query = _strings[id];
        var run = query.Length - query.IndexOf(':', StringComparison.Ordinal) - 1;
        return (flags & WordFlags.FieldsIncomplete) == 0 && ((flags & WordFlags.FieldsLongRuns) == 0 || run <= TextIndexLimits.MaxExactLength);
    }

    private static bool HasEntry(HashSet<string> entries, string query)
    {
        foreach (var entry in entries)
        {
            if (FolderTextIndex.Matches(entry, query))
            {
                return true;
            }
        }
        return false;
    }
}
