using System.Collections.Immutable;
using System.Runtime.InteropServices;
using Mail.Protocols.Imap.Protocol;
using Mail.Protocols.Imap.Search.TextIndex;
using Mail.Protocols.Storage;
using MimeKit;

namespace Mail.Protocols.Imap.Search;

/// <summary>
/// Evaluates a <see cref="SearchKey"/> tree over the messages of a <see cref="SearchScope"/>, fetching no more than the keys
/// need, in three rounds:
/// <list type="number">
/// <item>every message is tried with its <see cref="MessageInfo"/> and sequence number alone; a key that needs more answers
/// "unknown", and three-valued logic (NOT unknown is unknown; AND is false as soon as one operand is false, OR true as soon
/// as one is true) decides most messages here. A search of flags, sizes, dates, UIDs or MODSEQs ends after this round and
/// calls the store not once (once, <see cref="IMailboxStore.ListMessagesAsync"/>, when the session gave only UIDs);</item>
/// <item>the undecided messages' MIME summaries are fetched in batches (<see cref="IMailboxStore.GetSummariesAsync"/>) and
/// the envelope keys (FROM, TO, CC, BCC, SUBJECT, SENT*) answered;</item>
/// <item>only the messages still undecided have their content opened, once each: the header read if a key needs it, the text
/// parts scanned for every BODY/TEXT string at once.</item>
/// </list>
/// A message that disappears from the store meanwhile (another session expunged it) is not found.
/// </summary>
internal static class SearchEvaluator
{
    /// <summary>How many messages' summaries are asked for in one store call.</summary>
    internal const int BatchSize = 256;

    /// <summary>Runs <paramref name="key"/> over <paramref name="scope"/> and returns the messages found, ascending.</summary>
    public static async ValueTask<SearchResult> EvaluateAsync(SearchKey key, SearchScope scope, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(scope);
        bool[]? gone = null;
        var messages = scope.Messages;
        if (messages is null)
        {
            (messages, gone) = await ListAsync(scope, cancellationToken).ConfigureAwait(false);
        }
        var context = new Context(key, scope, messages);
        var matched = new List<int>();
        var pending = new List<int>();
        var view = new MessageView();
        if (messages is ImmutableArray<MessageInfo> array)
        {
            // The Maildir store's list: read as a span, without an interface call per message.
            FirstRound(key, context, array.AsSpan(), gone, view, matched, pending);
        }
        else
        {
            for (var i = 0; i < messages.Count; i++)
            {
                if (gone?[i] != true)
                {
                    TryFirst(key, context, view, i, messages[i], matched, pending);
                }
            }
        }

        if (pending.Count > 0)
        {
            var late = await EvaluatePendingAsync(key, context, pending, view, cancellationToken).ConfigureAwait(false);
            if (late.Count > 0)
            {
                matched.AddRange(late);
                matched.Sort();
            }
            if (context.TextIndex is { } index)
            {
                await index.SaveAsync(cancellationToken).ConfigureAwait(false);
            }
        }
        return BuildResult(messages, matched);
    }

    private static void FirstRound(SearchKey key, Context context, ReadOnlySpan<MessageInfo> messages, bool[]? gone, MessageView view, List<int> matched, List<int> pending)
    {
        for (var i = 0; i < messages.Length; i++)
        {
            if (gone?[i] != true)
            {
                TryFirst(key, context, view, i, messages[i], matched, pending);
            }
        }
    }

    // The first round for one message: its info alone decides it, or it waits for its summary.
    private static void TryFirst(SearchKey key, Context context, MessageView view, int index, MessageInfo info, List<int> matched, List<int> pending)
    {
        // Nothing but the number and the info is set in this round, so nothing else needs clearing.
        view.Start(index + 1, info);
        switch (Match(key, view, context))
        {
            case Truth.True:
                matched.Add(index);
                break;
            case Truth.Unknown:
                pending.Add(index);
                break;
        }
    }

    /// <summary>
    /// The <see cref="MessageInfo"/> of each UID of the session's view, read with one store call and matched by UID (both
    /// ascend); a UID the store no longer has gets a stand-in and is marked gone. When the store has exactly the session's
    /// UIDs (nothing arrived or went since the session last reported), its list is used as it is, not copied.
    /// </summary>
    private static async ValueTask<(IReadOnlyList<MessageInfo> Messages, bool[]? Gone)> ListAsync(SearchScope scope, CancellationToken cancellationToken)
    {
        var uids = scope.Uids!;
        var stored = await scope.Store.ListMessagesAsync(scope.User, scope.Folder, cancellationToken).ConfigureAwait(false);
        if (SameUids(stored, uids))
        {
            return (stored, null);
        }
        var messages = new MessageInfo[uids.Count];
        bool[]? gone = null;
        var s = 0;
        for (var i = 0; i < uids.Count; i++)
        {
            while (s < stored.Count && stored[s].Uid < uids[i])
            {
                s++;
            }
            if (s < stored.Count && stored[s].Uid == uids[i])
            {
                messages[i] = stored[s];
            }
            else
            {
                messages[i] = new MessageInfo(uids[i], MessageFlags.None, [], default, 0, 0);
                gone ??= new bool[uids.Count];
                gone[i] = true;
            }
        }
        return (messages, gone);
    }

    // Whether the store's list holds exactly the session's UIDs, in the same order.
    private static bool SameUids(IReadOnlyList<MessageInfo> stored, IReadOnlyList<uint> uids)
    {
        if (stored.Count != uids.Count)
        {
            return false;
        }
        if (stored is ImmutableArray<MessageInfo> array && uids is uint[] own)
        {
            // The common case (the Maildir store's list, the session's array), without an interface call per message.
            var infos = array.AsSpan();
            for (var i = 0; i < infos.Length; i++)
            {
                if (infos[i].Uid != own[i])
                {
                    return false;
                }
            }
            return true;
        }
        for (var i = 0; i < uids.Count; i++)
        {
            if (stored[i].Uid != uids[i])
            {
                return false;
            }
        }
        return true;
    }

    private static async ValueTask<List<int>> EvaluatePendingAsync(SearchKey key, Context context, List<int> pending, MessageView view, CancellationToken cancellationToken)
    {
        var scope = context.Scope;
        var messages = context.Messages;
        var matched = new List<int>();
        if (context.NeedsOnlyText && scope.Uids is not null)
        {
            // Nothing but BODY/TEXT strings is left to decide, and the folder was listed for this search (so every message here
            // was in the store when it began): the messages the word index answers need neither summary nor content.
            pending = await AnswerFromIndexAsync(key, context, pending, view, matched, cancellationToken).ConfigureAwait(false);
        }
        var uids = new List<uint>(Math.Min(BatchSize, pending.Count));
        for (var start = 0; start < pending.Count; start += BatchSize)
        {
            var end = Math.Min(pending.Count, start + BatchSize);
            uids.Clear();
            for (var p = start; p < end; p++)
            {
                uids.Add(messages[pending[p]].Uid);
            }
            var entries = await scope.Store.GetSummariesAsync(scope.User, scope.Folder, uids, cancellationToken).ConfigureAwait(false);

            // Both lists ascend by UID; a UID the store no longer has is left out of its answer and is not found.
            var e = 0;
            for (var p = start; p < end; p++)
            {
                var index = pending[p];
                var info = messages[index];
                while (e < entries.Count && entries[e].Info.Uid < info.Uid)
                {
                    e++;
                }
                if (e >= entries.Count || entries[e].Info.Uid != info.Uid)
                {
                    continue;
                }
                view.Reset(index + 1, info);
                view.Summary = entries[e].Summary;
                var truth = Match(key, view, context);
                if (truth == Truth.Unknown)
                {
                    truth = await MatchWithContentAsync(key, view, context, cancellationToken).ConfigureAwait(false);
                }
                if (truth == Truth.True)
                {
                    matched.Add(index);
                }
            }
        }
        return matched;
    }

    /// <summary>Decides the messages the word index answers (adding those found to <paramref name="matched"/>); returns the others.</summary>
    private static async ValueTask<List<int>> AnswerFromIndexAsync(SearchKey key, Context context, List<int> pending, MessageView view, List<int> matched, CancellationToken cancellationToken)
    {
        var index = await context.GetTextIndexAsync(cancellationToken).ConfigureAwait(false);
        if (index is null)
        {
            return pending;
        }
        var rest = new List<int>();
        foreach (var p in pending)
        {
            var info = context.Messages[p];
            view.Reset(p + 1, info);
            var truth = TryAnswer(view, context, index.TryAnswer(info.Uid, context.BodyAnswers, context.TextAnswers, context.HeaderAnswers)) ? Match(key, view, context) : Truth.Unknown;
            if (truth == Truth.True)
            {
                matched.Add(p);
            }
            else if (truth == Truth.Unknown)
            {
                rest.Add(p);
            }
        }
        return rest;
    }

    private static async ValueTask<Truth> MatchWithContentAsync(SearchKey key, MessageView view, Context context, CancellationToken cancellationToken)
    {
        var scope = context.Scope;
        var uid = view.Info.Uid;
        var summary = view.Summary!;
        // The BODY/TEXT and HEADER strings are answered from the folder's word index where it can (TextIndex/TextIndexSearch):
        // a message it answers for is not read at all.
        var index = context.UsesTextIndex ? await context.GetTextIndexAsync(cancellationToken).ConfigureAwait(false) : null;
        var answered = index is not null && TryAnswer(view, context, index.TryAnswer(uid, context.BodyAnswers, context.TextAnswers, context.HeaderAnswers));
        if (answered)
        {
            return Match(key, view, context) == Truth.True ? Truth.True : Truth.False;
        }
        if (context.Needles.Count == 0 && summary is { HasHeader: true })
        {
            // Header keys only, and the summary holds the header: the content is not opened.
            var header = summary.Header!.Value;
            // The header is usually a slice of an array the store keeps: read in place rather than copied for each message.
            var stream = MemoryMarshal.TryGetArray(header, out var array)
                ? new MemoryStream(array.Array!, array.Offset, array.Count, writable: false)
                : new MemoryStream(header.ToArray(), writable: false);
            view.Headers = await SearchText.ReadHeaderAsync(stream, 0, summary.BodyOffset, cancellationToken).ConfigureAwait(false);
            return Match(key, view, context) == Truth.True ? Truth.True : Truth.False;
        }
        Stream content;
        try
        {
            content = await scope.Store.OpenContentAsync(scope.User, scope.Folder, uid, cancellationToken).ConfigureAwait(false);
        }
        catch (MailboxStoreException e) when (e.Error == MailboxStoreError.MessageNotFound)
        {
            return Truth.False;
        }
        await using (content.ConfigureAwait(false))
        {
            if (!answered && index is not null
                && await index.IndexAsync(uid, content, summary, cancellationToken).ConfigureAwait(false) is { } words)
            {
                answered = TryAnswer(view, context, index.TryAnswer(words, context.BodyAnswers, context.TextAnswers, context.HeaderAnswers));
            }
            if (!answered && (key.Needs & SearchNeeds.Header) != 0)
            {
                view.Headers = await SearchText.ReadHeaderAsync(content, 0, summary.BodyOffset, cancellationToken).ConfigureAwait(false);
            }
            if (!answered && context.Needles.Count > 0)
            {
                view.BodyFound = new bool[context.Needles.Count];
                await SearchText.ScanBodyAsync(content, summary.Body, context.Needles, view.BodyFound, cancellationToken).ConfigureAwait(false);
                if (context.HasTextNeedles)
                {
                    // A TEXT string already found in the text parts needs no MIME header read.
                    view.PartHeaderFound = (bool[])view.BodyFound.Clone();
                    await SearchText.ScanPartHeadersAsync(content, summary.Body, context.Needles, context.TextNeedles, view.PartHeaderFound, cancellationToken).ConfigureAwait(false);
                }
            }
        }
        // Everything a key can ask for is here now; an answer still unknown cannot happen, and would not be a match.
        return Match(key, view, context) == Truth.True ? Truth.True : Truth.False;
    }

    /// <summary>
    /// Takes the word index's answers for a message when it had them all: the text parts' as the scan's, the headers' (top-level
    /// and MIME headers both) as found in the MIME headers, and the top-level header as searched.
    /// </summary>
    private static bool TryAnswer(MessageView view, Context context, bool answered)
    {
        if (answered)
        {
            view.BodyFound = (bool[])context.BodyAnswers.Clone();
            view.PartHeaderFound = (bool[])context.TextAnswers.Clone();
            view.HeaderText = string.Empty;
            view.HeaderFound = context.HeaderAnswers.Length == 0 ? [] : (bool[])context.HeaderAnswers.Clone();
        }
        return answered;
    }

    private static SearchResult BuildResult(IReadOnlyList<MessageInfo> messages, List<int> matched)
    {
        if (matched.Count == 0)
        {
            return SearchResult.Empty;
        }
        var sequenceNumbers = new uint[matched.Count];
        var uids = new uint[matched.Count];
        ulong highest = 0;
        for (var i = 0; i < matched.Count; i++)
        {
            var info = messages[matched[i]];
            sequenceNumbers[i] = (uint)(matched[i] + 1);
            uids[i] = info.Uid;
            highest = Math.Max(highest, info.ModSeq);
        }
        return new SearchResult(sequenceNumbers, uids, highest, messages[matched[0]].ModSeq, messages[matched[^1]].ModSeq);
    }

    /// <summary>
    /// The three-valued answer of one key for one message. Recursion is bounded by the tree's depth, which
    /// <see cref="SearchKey.MaxDepth"/> bounds when the tree is built.
    /// </summary>
    private static Truth Match(SearchKey key, MessageView view, Context context)
    {
        var info = view.Info;
        switch (key.Kind)
        {
            case SearchKeyKind.All:
            case SearchKeyKind.Old:
                return Truth.True;
            case SearchKeyKind.Recent:
            case SearchKeyKind.New:
                // No store keeps \Recent (see FolderStatus): RECENT and NEW (RECENT UNSEEN) match nothing, OLD everything.
                return Truth.False;
            case SearchKeyKind.Answered:
                return Is((info.Flags & MessageFlags.Answered) != 0);
            case SearchKeyKind.Deleted:
                return Is((info.Flags & MessageFlags.Deleted) != 0);
            case SearchKeyKind.Draft:
                return Is((info.Flags & MessageFlags.Draft) != 0);
            case SearchKeyKind.Flagged:
                return Is((info.Flags & MessageFlags.Flagged) != 0);
            case SearchKeyKind.Seen:
                return Is((info.Flags & MessageFlags.Seen) != 0);
            case SearchKeyKind.Unanswered:
                return Is((info.Flags & MessageFlags.Answered) == 0);
            case SearchKeyKind.Undeleted:
                return Is((info.Flags & MessageFlags.Deleted) == 0);
            case SearchKeyKind.Undraft:
                return Is((info.Flags & MessageFlags.Draft) == 0);
            case SearchKeyKind.Unflagged:
                return Is((info.Flags & MessageFlags.Flagged) == 0);
            case SearchKeyKind.Unseen:
                return Is((info.Flags & MessageFlags.Seen) == 0);
            case SearchKeyKind.Keyword:
                return Is(HasKeyword(info, key.Value!));
            case SearchKeyKind.Unkeyword:
                return Is(!HasKeyword(info, key.Value!));
            case SearchKeyKind.Before:
                return Is(SearchText.DateOf(info.InternalDate) < key.Date);
            case SearchKeyKind.On:
                return Is(SearchText.DateOf(info.InternalDate) == key.Date);
            case SearchKeyKind.Since:
                return Is(SearchText.DateOf(info.InternalDate) >= key.Date);
            case SearchKeyKind.Larger:
                return Is(info.Size >= 0 && (ulong)info.Size > key.Number);
            case SearchKeyKind.Smaller:
                return Is(info.Size < 0 || (ulong)info.Size < key.Number);
            case SearchKeyKind.ModSeq:
                return Is(info.ModSeq >= key.Number);
            case SearchKeyKind.SequenceSet:
                return Is(context.Sets[key].Contains((uint)view.SequenceNumber));
            case SearchKeyKind.Uid:
                return Is(context.Sets[key].Contains(info.Uid));
            case SearchKeyKind.SentBefore:
            case SearchKeyKind.SentOn:
            case SearchKeyKind.SentSince:
                return MatchSentDate(key, view);
            case SearchKeyKind.Subject:
            case SearchKeyKind.From:
            case SearchKeyKind.To:
            case SearchKeyKind.Cc:
            case SearchKeyKind.Bcc:
                return MatchEnvelope(key, view);
            case SearchKeyKind.Header:
                return MatchHeader(key, view, context);
            case SearchKeyKind.Body:
            case SearchKeyKind.Text:
                return MatchText(key, view, context);
            case SearchKeyKind.Not:
                return Negate(Match(key.Children[0], view, context));
            case SearchKeyKind.Or:
            {
                var left = Match(key.Children[0], view, context);
                if (left == Truth.True)
                {
                    return Truth.True;
                }
                var right = Match(key.Children[1], view, context);
                return right == Truth.True ? Truth.True : left == Truth.Unknown || right == Truth.Unknown ? Truth.Unknown : Truth.False;
            }
            case SearchKeyKind.And:
            {
                var result = Truth.True;
                foreach (var child in key.Children)
                {
                    var truth = Match(child, view, context);
                    if (truth == Truth.False)
                    {
                        return Truth.False;
                    }
                    if (truth == Truth.Unknown)
                    {
                        result = Truth.Unknown;
                    }
                }
                return result;
            }
            default:
                return Truth.False;
        }
    }

    private static Truth MatchSentDate(SearchKey key, MessageView view)
    {
        if (view.Summary is null)
        {
            return Truth.Unknown;
        }
        // A message without a readable Date header has no sent date and matches no SENT* key.
        if (!SearchText.TryGetSentDate(view.Summary.Envelope.Date, out var sent))
        {
            return Truth.False;
        }
        return Is(key.Kind switch
        {
            SearchKeyKind.SentBefore => sent < key.Date,
            SearchKeyKind.SentOn => sent == key.Date,
            _ => sent >= key.Date,
        });
    }

    private static Truth MatchEnvelope(SearchKey key, MessageView view)
    {
        var needle = key.Value!;
        if (needle.Length == 0)
        {
            return Truth.True;
        }
        if (view.Summary is null)
        {
            return Truth.Unknown;
        }
        var envelope = view.Summary.Envelope;
        var text = key.Kind switch
        {
            SearchKeyKind.Subject => view.Subject ??= envelope.Subject is null ? null : SearchText.DecodeText(envelope.Subject),
            SearchKeyKind.From => view.From ??= SearchText.FormatAddresses(envelope.From),
            SearchKeyKind.To => view.To ??= SearchText.FormatAddresses(envelope.To),
            SearchKeyKind.Cc => view.Cc ??= SearchText.FormatAddresses(envelope.Cc),
            _ => view.Bcc ??= SearchText.FormatAddresses(envelope.Bcc),
        };
        return Is(SearchText.Contains(text, needle));
    }

    private static Truth MatchHeader(SearchKey key, MessageView view, Context context)
    {
        if (view.HeaderFound is not null)
        {
            return Is(view.HeaderFound[context.HeaderNeedleIndex[key]]);
        }
        if (view.Headers is null)
        {
            return Truth.Unknown;
        }
        var needle = key.Value!;
        foreach (var header in view.Headers)
        {
            // RFC 9051 §6.4.4: an empty string matches every message that has the field, whatever its value.
            if (header.Field.Equals(key.FieldName, StringComparison.OrdinalIgnoreCase)
                && (needle.Length == 0 || SearchText.Contains(SearchText.DecodedValue(header), needle)))
            {
                return Truth.True;
            }
        }
        return Truth.False;
    }

    private static Truth MatchText(SearchKey key, MessageView view, Context context)
    {
        var needle = key.Value!;
        if (needle.Length == 0)
        {
            return Truth.True;
        }
        if (view.BodyFound is null)
        {
            return Truth.Unknown;
        }
        var index = context.NeedleIndex[key];
        if (view.BodyFound[index])
        {
            return Truth.True;
        }
        if (key.Kind == SearchKeyKind.Body)
        {
            return Truth.False;
        }
        if (view.PartHeaderFound?[index] == true)
        {
            return Truth.True;
        }
        if (view.HeaderText is null)
        {
            if (view.Headers is null)
            {
                return Truth.Unknown;
            }
            view.HeaderText = SearchText.HeaderText(view.Headers);
        }
        return Is(SearchText.Contains(view.HeaderText, needle));
    }

    private static bool HasKeyword(MessageInfo info, string keyword)
    {
        foreach (var k in info.Keywords)
        {
            if (k.Equals(keyword, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }
        return false;
    }

    private static Truth Is(bool value) => value ? Truth.True : Truth.False;

    private static Truth Negate(Truth value) => value switch
    {
        Truth.True => Truth.False,
        Truth.False => Truth.True,
        _ => Truth.Unknown,
    };

    private enum Truth : byte
    {
        False,
        True,
        Unknown,
    }

    /// <summary>
    /// What every message's evaluation shares: the scope, each sequence set resolved once against the folder (RFC 9051
    /// §6.4.4: "*" is the last message, or the largest UID; "$" the saved result), and the BODY/TEXT strings to scan for.
    /// </summary>
    private sealed class Context
    {
        private NumberSet? _savedSequenceNumbers;

        public Context(SearchKey key, SearchScope scope, IReadOnlyList<MessageInfo> messages)
        {
            Scope = scope;
            Messages = messages;
            var largestUid = messages.Count == 0 ? 0 : messages[^1].Uid;
            // The tree is walked with a stack of its own: each set resolved once, the same strings scanned for once.
            var byText = new Dictionary<string, int>(StringComparer.OrdinalIgnoreCase);
            var textNeedles = new HashSet<int>();
            var byField = new Dictionary<(string, string), int>(new FieldAndValueComparer());
            var stack = new Stack<SearchKey>();
            stack.Push(key);
            while (stack.Count > 0)
            {
                var node = stack.Pop();
                if (node.Kind == SearchKeyKind.Uid)
                {
                    Sets[node] = node.Sequence!.Resolve(largestUid, scope.SavedUids);
                }
                else if (node.Kind == SearchKeyKind.SequenceSet)
                {
                    Sets[node] = node.Sequence!.Resolve((uint)messages.Count, node.Sequence.IncludesSavedResult ? SavedSequenceNumbers() : null);
                }
                else if (node.Kind == SearchKeyKind.Header)
                {
                    if (!byField.TryGetValue((node.FieldName!, node.Value!), out var index))
                    {
                        index = HeaderNeedles.Count;
                        byField.Add((node.FieldName!, node.Value!), index);
                        HeaderNeedles.Add((node.FieldName!, node.Value!));
                    }
                    HeaderNeedleIndex[node] = index;
                }
                else if (node.Kind is SearchKeyKind.Body or SearchKeyKind.Text && node.Value!.Length > 0)
                {
                    if (!byText.TryGetValue(node.Value, out var index))
                    {
                        index = Needles.Count;
                        byText.Add(node.Value, index);
                        Needles.Add(node.Value);
                    }
                    NeedleIndex[node] = index;
                    if (node.Kind == SearchKeyKind.Text)
                    {
                        textNeedles.Add(index);
                    }
                }
                foreach (var child in node.Children)
                {
                    stack.Push(child);
                }
            }
            TextNeedles = new bool[Needles.Count];
            foreach (var index in textNeedles)
            {
                TextNeedles[index] = true;
            }
            BodyAnswers = new bool[Needles.Count];
            TextAnswers = new bool[Needles.Count];
            HeaderAnswers = new bool[HeaderNeedles.Count];
            UsesTextIndex = Needles.Count > 0 || HeaderNeedles.Count > 0;
            NeedsOnlyText = UsesTextIndex && (key.Needs & SearchNeeds.Envelope) == 0;
        }

        /// <summary>The HEADER keys' field names and strings, each once (field names without case, strings as the BODY/TEXT ones).</summary>
        public List<(string Field, string Value)> HeaderNeedles { get; } = [];

        public Dictionary<SearchKey, int> HeaderNeedleIndex { get; } = new(ReferenceEqualityComparer.Instance);

        /// <summary>Whether the tree has BODY, TEXT or HEADER strings, which the word index answers.</summary>
        public bool UsesTextIndex { get; }

        /// <summary>Whether what is left to decide after the first round is only strings the word index answers (no envelope key).</summary>
        public bool NeedsOnlyText { get; }

        public bool[] HeaderAnswers { get; }

        /// <summary>The folder's word index for the BODY/TEXT strings, once a message needed them; null before, or when there is none.</summary>
        public TextIndexSearch? TextIndex { get; private set; }

        private bool _textIndexTried;

        /// <summary>Where the word index writes its answers for one message (copied into the message's view when complete).</summary>
        public bool[] BodyAnswers { get; }

        public bool[] TextAnswers { get; }

        public async ValueTask<TextIndexSearch?> GetTextIndexAsync(CancellationToken cancellationToken)
        {
            if (!_textIndexTried)
            {
                _textIndexTried = true;
                TextIndex = await TextIndexSearch.CreateAsync(Scope, Needles, TextNeedles, HeaderNeedles, Messages.Count, cancellationToken).ConfigureAwait(false);
            }
            return TextIndex;
        }

        public SearchScope Scope { get; }

        public IReadOnlyList<MessageInfo> Messages { get; }

        public Dictionary<SearchKey, NumberSet> Sets { get; } = new(ReferenceEqualityComparer.Instance);

        public List<string> Needles { get; } = [];

        public Dictionary<SearchKey, int> NeedleIndex { get; } = new(ReferenceEqualityComparer.Instance);

        /// <summary>Which needles a TEXT key searches for (those are looked for in the parts' MIME headers too).</summary>
        public bool[] TextNeedles { get; }

        public bool HasTextNeedles => Array.IndexOf(TextNeedles, true) >= 0;

        /// <summary>The saved result (UIDs) as the sequence numbers those messages have now; UIDs no longer here are left out.</summary>
        private NumberSet? SavedSequenceNumbers()
        {
            if (Scope.SavedUids is not { } saved)
            {
                return null;
            }
            if (_savedSequenceNumbers is null)
            {
                var numbers = new List<uint>();
                var messages = Messages;
                for (var i = 0; i < messages.Count; i++)
                {
                    if (saved.Contains(messages[i].Uid))
                    {
                        numbers.Add((uint)(i + 1));
                    }
                }
                _savedSequenceNumbers = NumberSet.FromNumbers(numbers);
            }
            return _savedSequenceNumbers;
        }
    }

    /// <summary>HEADER keys alike: field names without case, strings as BODY/TEXT strings are compared (without case).</summary>
    private sealed class FieldAndValueComparer : IEqualityComparer<(string Field, string Value)>
    {
        public bool Equals((string Field, string Value) x, (string Field, string Value) y) =>
            StringComparer.OrdinalIgnoreCase.Equals(x.Field, y.Field) && StringComparer.OrdinalIgnoreCase.Equals(x.Value, y.Value);

        public int GetHashCode((string Field, string Value) obj) =>
            HashCode.Combine(StringComparer.OrdinalIgnoreCase.GetHashCode(obj.Field), StringComparer.OrdinalIgnoreCase.GetHashCode(obj.Value));
    }

    /// <summary>One message as far as it is known: always its number and info; its summary, header and text scan once fetched.</summary>
    private sealed class MessageView
    {
        public int SequenceNumber { get; private set; }

        public MessageInfo Info { get; private set; } = null!;

        public MessageSummary? Summary { get; set; }

        public HeaderList? Headers { get; set; }

        public bool[]? BodyFound { get; set; }

        public bool[]? PartHeaderFound { get; set; }

        /// <summary>The word index's answers for the HEADER keys, when it had them.</summary>
        public bool[]? HeaderFound { get; set; }

        public string? Subject { get; set; }

        public string? From { get; set; }

        public string? To { get; set; }

        public string? Cc { get; set; }

        public string? Bcc { get; set; }

        public string? HeaderText { get; set; }

        /// <summary>Moves to the next message in the first round, in which only the number and the info are ever set.</summary>
        public void Start(int sequenceNumber, MessageInfo info)
        {
            SequenceNumber = sequenceNumber;
            Info = info;
        }

        public void Reset(int sequenceNumber, MessageInfo info)
        {
            SequenceNumber = sequenceNumber;
            Info = info;
            Summary = null;
            Headers = null;
            BodyFound = null;
            PartHeaderFound = null;
            HeaderFound = null;
            Subject = From = To = Cc = Bcc = HeaderText = null;
        }
    }
}
