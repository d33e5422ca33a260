using System.Collections.Immutable;
using System.Text;
using System.Text.RegularExpressions;
using Mail.Protocols.Storage;

namespace Mail.Protocols.Imap.Tests.Differential;

/// <summary>The rules by which Dovecot's answer may differ from ours; each is a subsection of "Differences from Dovecot" in docs/imap.md.</summary>
internal enum DifferenceRule
{
    /// <summary>body-fld-lines of a part whose body does not end in a line break: Dovecot counts line breaks, we count lines.</summary>
    LinesOfUnterminatedLastLine,

    /// <summary>Dovecot moves a parameter joined from RFC 2231 sections behind the others; we keep the message's order.</summary>
    Rfc2231ParameterOrder,

    /// <summary>Dovecot turns the TAB of a folded envelope field into a space; we remove only the line break (RFC 5322 §2.2.3).</summary>
    FoldingTab,

    /// <summary>Dovecot keeps the whitespace between the colon and a value folded onto the next line; we trim it.</summary>
    FoldingLeadingSpace,

    /// <summary>Dovecot sends a quoted local part without its quotes; we send the local-part as RFC 5322 writes it.</summary>
    QuotedLocalPart,

    /// <summary>BODY[n] of a nested multipart: Dovecot includes the CRLF that RFC 2046 gives to the enclosing delimiter.</summary>
    NestedMultipartTrailingCrlf,

    /// <summary>BINARY[n] of a multipart: Dovecot decodes the parts inside it; we send the multipart's octets (its encoding is the identity).</summary>
    BinaryOfMultipart,

    /// <summary>HEADER.FIELDS of a message with no blank line and no body: Dovecot ends it with a blank line; RFC 9051 §6.4.5 leaves it out.</summary>
    HeaderFieldsOfHeaderOnlyMessage,
}

/// <summary>
/// Brings Dovecot's answer to one FETCH item to ours where, and only where, a documented difference
/// (<see cref="DifferenceRule"/>) applies; everything else is left as Dovecot sent it, so any other difference still
/// fails the comparison. The rules look at the message itself (its octets and our summary of it) to decide.
/// </summary>
internal sealed class DocumentedDifferences(byte[] content, MessageSummary summary, ImmutableHashSet<DifferenceRule> rules)
{
    private static readonly Regex s_rfc2231Section = new(@"\*0\*?\s*=", RegexOptions.CultureInvariant);

    /// <summary>The rules that changed something, for the test's report.</summary>
    public HashSet<DifferenceRule> Applied { get; } = [];

    /// <summary>Dovecot's value of item <paramref name="name"/> (upper case, folded as the normaliser folds it) reconciled with ours.</summary>
    public ImapValue Reconcile(string name, ImapValue theirs, ImapValue ours)
    {
        if (name is "ENVELOPE")
        {
            return Envelope(theirs, ours);
        }
        if (name is "BODY" or "BODYSTRUCTURE")
        {
            return Body(theirs, ours, summary.Body, 0);
        }
        if (name.StartsWith("BODY[HEADER.FIELDS", StringComparison.Ordinal))
        {
            return HeaderFields(theirs, ours);
        }
        if (SectionPart(name) is ({ } kind, { } part))
        {
            return Section(kind, part, theirs, ours);
        }
        return theirs;
    }

    private bool Use(DifferenceRule rule)
    {
        if (!rules.Contains(rule))
        {
            return false;
        }
        Applied.Add(rule);
        return true;
    }

    private ImapValue Envelope(ImapValue theirs, ImapValue ours)
    {
        if (theirs is not ImapList { Items.Length: 10 } t || ours is not ImapList { Items.Length: 10 } o)
        {
            return theirs;
        }
        var items = t.Items.ToBuilder();
        foreach (var i in new[] { 0, 1, 8, 9 })
        {
            items[i] = EnvelopeString(items[i], o.Items[i]);
        }
        for (var i = 2; i < 8; i++)
        {
            if (items[i] is ImapList theirList && o.Items[i] is ImapList ourList && theirList.Items.Length == ourList.Items.Length)
            {
                var addresses = theirList.Items.ToBuilder();
                for (var a = 0; a < addresses.Count; a++)
                {
                    addresses[a] = Address(addresses[a], ourList.Items[a]);
                }
                items[i] = theirList with { Items = addresses.ToImmutable() };
            }
        }
        return t with { Items = items.ToImmutable() };
    }

    private ImapValue EnvelopeString(ImapValue theirs, ImapValue ours)
    {
        if (theirs is not ImapString t || ours is not ImapString o || t.Octets.SequenceEqual(o.Octets))
        {
            return theirs;
        }
        var theirText = Latin1(t);
        var ourText = Latin1(o);
        if (ourText.Contains('\t', StringComparison.Ordinal) && theirText == ourText.Replace('\t', ' ') && Use(DifferenceRule.FoldingTab))
        {
            return ours;
        }
        if (theirText.Length > 0 && char.IsWhiteSpace(theirText[0]) && theirText.TrimStart() == ourText && Use(DifferenceRule.FoldingLeadingSpace))
        {
            return ours;
        }
        return theirs;
    }

    // (name adl mailbox host)
    private ImapValue Address(ImapValue theirs, ImapValue ours)
    {
        if (theirs is not ImapList { Items.Length: 4 } t || ours is not ImapList { Items.Length: 4 } o)
        {
            return theirs;
        }
        var items = t.Items.ToBuilder();
        if (items[2] is ImapString theirMailbox && o.Items[2] is ImapString ourMailbox
            && Latin1(ourMailbox) == "\"" + Latin1(theirMailbox) + "\"" && Use(DifferenceRule.QuotedLocalPart))
        {
            items[2] = ourMailbox;
        }
        return t with { Items = items.ToImmutable() };
    }

    private ImapValue Body(ImapValue theirs, ImapValue ours, BodyPartSummary part, int depth)
    {
        if (depth > ImapResponseParser.MaxDepth || theirs is not ImapList { Items.Length: > 0 } t || ours is not ImapList { Items.Length: > 0 } o)
        {
            return theirs;
        }
        var items = t.Items.ToBuilder();
        if (items[0] is ImapList)
        {
            var i = 0;
            for (; i < items.Count && items[i] is ImapList && i < o.Items.Length && o.Items[i] is ImapList && i < part.Children.Count; i++)
            {
                items[i] = Body(items[i], o.Items[i], part.Children[i], depth + 1);
            }
            for (; i < items.Count && items[i] is ImapList; i++)
            {
            }
            // subtype, then body-fld-param, then body-fld-dsp
            Reconcile(items, o.Items, i + 1, (a, b) => Parameters(a, b, HeaderOf(part)));
            Reconcile(items, o.Items, i + 2, (a, b) => Disposition(a, b, HeaderOf(part)));
            return t with { Items = items.ToImmutable() };
        }
        var type = Lower(items[0]);
        var isText = type == "text";
        var isMessage = type == "message" && items.Count > 1 && Lower(items[1]) is "rfc822" or "global";
        Reconcile(items, o.Items, 2, (a, b) => Parameters(a, b, HeaderOf(part)));
        int extension;
        if (isMessage)
        {
            Reconcile(items, o.Items, 7, Envelope);
            if (part.Message is { } inner)
            {
                Reconcile(items, o.Items, 8, (a, b) => Body(a, b, inner, depth + 1));
            }
            Reconcile(items, o.Items, 9, (a, b) => Lines(a, b, part));
            extension = 10;
        }
        else if (isText)
        {
            Reconcile(items, o.Items, 7, (a, b) => Lines(a, b, part));
            extension = 8;
        }
        else
        {
            extension = 7;
        }
        Reconcile(items, o.Items, extension + 1, (a, b) => Disposition(a, b, HeaderOf(part)));
        return t with { Items = items.ToImmutable() };
    }

    private static void Reconcile(ImmutableArray<ImapValue>.Builder theirs, ImmutableArray<ImapValue> ours, int index, Func<ImapValue, ImapValue, ImapValue> reconcile)
    {
        if (index < theirs.Count && index < ours.Length)
        {
            theirs[index] = reconcile(theirs[index], ours[index]);
        }
    }

    private ImapValue Lines(ImapValue theirs, ImapValue ours, BodyPartSummary part)
    {
        if (theirs is ImapAtom t && ours is ImapAtom o && long.TryParse(t.Text, out var theirLines) && long.TryParse(o.Text, out var ourLines)
            && ourLines == theirLines + 1 && part.EndOffset > part.BodyOffset && content[(int)part.EndOffset - 1] != '\n'
            && Use(DifferenceRule.LinesOfUnterminatedLastLine))
        {
            return ours;
        }
        return theirs;
    }

    private ImapValue Parameters(ImapValue theirs, ImapValue ours, string header) => Reordered(theirs, ours, header);

    // body-fld-dsp = "(" string SP body-fld-param ")"
    private ImapValue Disposition(ImapValue theirs, ImapValue ours, string header)
    {
        if (theirs is ImapList { Items.Length: 2 } t && ours is ImapList { Items.Length: 2 } o)
        {
            return t with { Items = [t.Items[0], Reordered(t.Items[1], o.Items[1], header)] };
        }
        return theirs;
    }

    // The same pairs in another order, where the part's header has RFC 2231 sections.
    private ImapValue Reordered(ImapValue theirs, ImapValue ours, string header)
    {
        if (theirs is ImapList t && ours is ImapList o && t.Items.Length == o.Items.Length && t.Items.Length % 2 == 0
            && FetchNormalizer.Canonical(t) != FetchNormalizer.Canonical(o) && s_rfc2231Section.IsMatch(header))
        {
            var theirPairs = Pairs(t).Order(StringComparer.Ordinal);
            var ourPairs = Pairs(o).Order(StringComparer.Ordinal);
            if (theirPairs.SequenceEqual(ourPairs) && Use(DifferenceRule.Rfc2231ParameterOrder))
            {
                return ours;
            }
        }
        return theirs;

        static IEnumerable<string> Pairs(ImapList list) =>
            Enumerable.Range(0, list.Items.Length / 2).Select(i => FetchNormalizer.Canonical(list.Items[2 * i]) + "=" + FetchNormalizer.Canonical(list.Items[(2 * i) + 1]));
    }

    // A message without a blank line and body has none in its header fetches (RFC 9051 §6.4.5); Dovecot adds one to
    // HEADER.FIELDS (not to HEADER or HEADER.FIELDS.NOT).
    private ImapValue HeaderFields(ImapValue theirs, ImapValue ours)
    {
        if (theirs is ImapString t && ours is ImapString o && summary.BodyOffset == content.Length && !content.AsSpan().EndsWith("\r\n\r\n"u8)
            && t.Octets.AsSpan().SequenceEqual([.. o.Octets, (byte)'\r', (byte)'\n']) && Use(DifferenceRule.HeaderFieldsOfHeaderOnlyMessage))
        {
            return ours;
        }
        return theirs;
    }

    private ImapValue Section(string kind, BodyPartSummary part, ImapValue theirs, ImapValue ours)
    {
        if (part.Children.Count == 0)
        {
            return theirs;
        }
        var raw = content.AsSpan((int)part.BodyOffset, (int)part.BodySize);
        var followedByCrlf = content.AsSpan((int)part.EndOffset).StartsWith("\r\n"u8);
        switch (kind)
        {
            case "BODY" when theirs is ImapString t && ours is ImapString o && o.Octets.AsSpan().SequenceEqual(raw) && followedByCrlf
                && t.Octets.AsSpan().SequenceEqual([.. raw, (byte)'\r', (byte)'\n']) && Use(DifferenceRule.NestedMultipartTrailingCrlf):
                return ours;
            case "BINARY" when ours is ImapString o && o.Octets.AsSpan().SequenceEqual(raw) && Use(DifferenceRule.BinaryOfMultipart):
                return ours;
            case "BINARY.SIZE" when ours is ImapAtom o && o.Text == raw.Length.ToString(System.Globalization.CultureInfo.InvariantCulture)
                && Use(DifferenceRule.BinaryOfMultipart):
                return ours;
            default:
                return theirs;
        }
    }

    // "BODY[1.2]", "BINARY[2]", "BINARY.SIZE[1]" (a section of part numbers only, no partial): the kind and the part.
    private (string? Kind, BodyPartSummary? Part) SectionPart(string name)
    {
        var open = name.IndexOf('[', StringComparison.Ordinal);
        if (open < 0 || !name.EndsWith(']'))
        {
            return (null, null);
        }
        var numbers = name[(open + 1)..^1].Split('.');
        if (numbers.Length == 0 || !numbers.All(n => n.Length > 0 && n.All(char.IsAsciiDigit)))
        {
            return (null, null);
        }
        BodyPartSummary? part = null;
        foreach (var text in numbers)
        {
            var n = int.Parse(text, System.Globalization.CultureInfo.InvariantCulture);
            // The first number counts the parts of the message's body (the body itself is part 1 when it is not
            // multipart); the parts of a message/rfc822 part are those of its embedded message's body.
            var container = part is null ? summary.Body : part.Message;
            if (container is null)
            {
                return (null, null);
            }
            part = container.Children.Count > 0 ? (n <= container.Children.Count ? container.Children[n - 1] : null) : (n == 1 ? container : null);
            if (part is null)
            {
                return (null, null);
            }
        }
        return (name[..open], part);
    }

    private string HeaderOf(BodyPartSummary part) =>
        Encoding.Latin1.GetString(content, (int)part.HeaderOffset, (int)Math.Max(0, part.BodyOffset - part.HeaderOffset));

    private static string? Lower(ImapValue value) => value is ImapString s ? Latin1(s).ToLowerInvariant() : null;

    private static string Latin1(ImapString s) => Encoding.Latin1.GetString(s.Octets.AsSpan());
}
