using System.Collections.Immutable;
using System.Globalization;
using System.Text;

namespace Mail.Protocols.Imap.Tests.Differential;

/// <summary>
/// Puts FETCH data into a canonical text so that two servers' answers compare equal exactly when the RFCs make them
/// the same answer, and for no other reason. What it forgives, and why:
/// <list type="bullet">
/// <item>The order of the items in a FETCH response (RFC 9051 §7.5.2 lists msg-att items without an order; servers
/// send them as they like): the canonical form is a map from item name to value.</item>
/// <item>The case of atoms (RFC 9051 §9: "Except as noted otherwise, all alphabetic characters are case-insensitive"):
/// NIL and nil, BODY[header] and BODY[HEADER], are the same.</item>
/// <item>A quoted string versus a literal (or a literal8, RFC 3516) of the same octets (RFC 9051 §4.3: a string is
/// "in one of two forms"; the form carries no meaning). A literal with a NUL octet is not a string (CHAR8 excludes
/// NUL), so it is refused rather than forgiven.</item>
/// <item>Inside BODY and BODYSTRUCTURE only, the case of the fields MIME makes case-insensitive: the media type and
/// subtype and the parameter names (RFC 2045 §5.1: "The type, subtype, and parameter names are not case
/// sensitive"; RFC 9051's ABNF writes the types as DQUOTE "TEXT" DQUOTE, which ABNF matches in any case), the
/// transfer encoding (RFC 2045 §6.1: "these values are not case sensitive") and the disposition type (RFC 2183 §2,
/// its grammar: "values are not case-sensitive"). Parameter values, descriptions, envelope strings and every octet of a
/// BODY[section] are compared exactly.</item>
/// </list>
/// </summary>
internal static class FetchNormalizer
{
    /// <summary>The canonical items of a FETCH response: upper-cased item name to canonical value.</summary>
    public static ImmutableSortedDictionary<string, string> Normalize(FetchResponse response) =>
        NormalizeValues(response).ToImmutableSortedDictionary(p => p.Key, p => Canonical(p.Value), StringComparer.Ordinal);

    /// <summary>The items of a FETCH response by upper-cased name, BODY and BODYSTRUCTURE folded (<see cref="FoldBody"/>).</summary>
    public static ImmutableSortedDictionary<string, ImapValue> NormalizeValues(FetchResponse response)
    {
        var items = ImmutableSortedDictionary.CreateBuilder<string, ImapValue>(StringComparer.Ordinal);
        foreach (var (name, value) in response.Items)
        {
            var key = name.ToUpperInvariant();
            if (!items.TryAdd(key, key is "BODY" or "BODYSTRUCTURE" ? FoldBody(value, 0) : value))
            {
                throw new FormatException($"The item {key} twice in one FETCH response.");
            }
        }
        return items.ToImmutable();
    }

    /// <summary>The canonical items of the raw octets of an untagged FETCH response.</summary>
    public static ImmutableSortedDictionary<string, string> Normalize(ReadOnlySpan<byte> response) =>
        Normalize(ImapResponseParser.ParseFetch(response));

    /// <summary>
    /// A value as canonical text: atoms upper-cased, every string as <c>"…"</c> whatever its form, with <c>\</c>,
    /// <c>"</c> and octets outside printable ASCII escaped (<c>\\</c>, <c>\"</c>, <c>\xHH</c>), lists in parentheses.
    /// </summary>
    public static string Canonical(ImapValue value)
    {
        var text = new StringBuilder();
        Append(text, value, 0);
        return text.ToString();
    }

    private static void Append(StringBuilder text, ImapValue value, int depth)
    {
        if (depth > ImapResponseParser.MaxDepth)
        {
            throw new FormatException("Nested too deep.");
        }
        switch (value)
        {
            case ImapAtom atom:
                text.Append(atom.Text.ToUpperInvariant());
                break;
            case ImapString s:
                if (s.Form != ImapStringForm.Literal8 && s.Octets.Contains((byte)0))
                {
                    throw new FormatException("A NUL octet in a string that is not a literal8 (RFC 9051 §9: CHAR8 excludes NUL).");
                }
                text.Append('"');
                foreach (var b in s.Octets)
                {
                    if (b is (byte)'\\' or (byte)'"')
                    {
                        text.Append('\\').Append((char)b);
                    }
                    else if (b is >= 0x20 and < 0x7f)
                    {
                        text.Append((char)b);
                    }
                    else
                    {
                        text.Append(CultureInfo.InvariantCulture, $"\\x{b:X2}");
                    }
                }
                text.Append('"');
                break;
            case ImapList list:
                text.Append('(');
                for (var i = 0; i < list.Items.Length; i++)
                {
                    if (list.SpacedBefore(i))
                    {
                        text.Append(' ');
                    }
                    Append(text, list.Items[i], depth + 1);
                }
                text.Append(')');
                break;
            default:
                throw new ArgumentException($"Unknown value {value}.", nameof(value));
        }
    }

    /// <summary>
    /// A body structure (RFC 9051 §9 body) with its case-insensitive MIME fields lower-cased; anything that is not
    /// the grammar's shape is left as it is, so a malformed structure still compares unequal.
    /// </summary>
    public static ImapValue FoldBody(ImapValue body, int depth)
    {
        if (depth > ImapResponseParser.MaxDepth || body is not ImapList { Items.Length: > 0 } list)
        {
            return body;
        }
        var items = list.Items.ToBuilder();
        if (items[0] is ImapList)
        {
            // body-type-mpart = 1*body SP media-subtype [SP body-ext-mpart]
            // body-ext-mpart  = body-fld-param [SP body-fld-dsp [SP body-fld-lang [SP body-fld-loc *(SP body-extension)]]]
            var i = 0;
            for (; i < items.Count && items[i] is ImapList; i++)
            {
                items[i] = FoldBody(items[i], depth + 1);
            }
            Fold(items, i, FoldCase);
            Fold(items, i + 1, FoldParameters);
            Fold(items, i + 2, FoldDisposition);
            return new ImapList(items.ToImmutable(), list.Unspaced);
        }
        // body-type-1part = (body-type-basic / body-type-msg / body-type-text) [SP body-ext-1part]
        // body-fields     = body-fld-param SP body-fld-id SP body-fld-desc SP body-fld-enc SP body-fld-octets
        Fold(items, 0, FoldCase);
        Fold(items, 1, FoldCase);
        Fold(items, 2, FoldParameters);
        Fold(items, 5, FoldCase);
        var type = Lower(items[0]);
        var subtype = items.Count > 1 ? Lower(items[1]) : null;
        int extension;
        if (type == "message" && subtype is "rfc822" or "global")
        {
            // body-type-msg = media-message SP body-fields SP envelope SP body SP body-fld-lines
            if (items.Count > 8)
            {
                items[8] = FoldBody(items[8], depth + 1);
            }
            extension = 10;
        }
        else
        {
            // body-type-text = media-text SP body-fields SP body-fld-lines
            extension = type == "text" ? 8 : 7;
        }
        // body-ext-1part = body-fld-md5 [SP body-fld-dsp [SP body-fld-lang [SP body-fld-loc *(SP body-extension)]]]
        Fold(items, extension + 1, FoldDisposition);
        return new ImapList(items.ToImmutable(), list.Unspaced);
    }

    private static void Fold(ImmutableArray<ImapValue>.Builder items, int index, Func<ImapValue, ImapValue> fold)
    {
        if (index < items.Count)
        {
            items[index] = fold(items[index]);
        }
    }

    private static string? Lower(ImapValue value) =>
        value is ImapString s ? Encoding.Latin1.GetString(s.Octets.AsSpan()).ToLowerInvariant() : null;

    private static ImapValue FoldCase(ImapValue value) =>
        value is ImapString s ? s with { Octets = [.. s.Octets.Select(b => b is >= (byte)'A' and <= (byte)'Z' ? (byte)(b + 32) : b)] } : value;

    // body-fld-param = "(" string SP string *(SP string SP string) ")" / nil: the names are every other string.
    private static ImapValue FoldParameters(ImapValue value)
    {
        if (value is not ImapList list)
        {
            return value;
        }
        var items = list.Items.ToBuilder();
        for (var i = 0; i < items.Count; i += 2)
        {
            items[i] = FoldCase(items[i]);
        }
        return new ImapList(items.ToImmutable(), list.Unspaced);
    }

    // body-fld-dsp = "(" string SP body-fld-param ")" / nil
    private static ImapValue FoldDisposition(ImapValue value)
    {
        if (value is not ImapList { Items.Length: 2 } list)
        {
            return value;
        }
        return list with { Items = [FoldCase(list.Items[0]), FoldParameters(list.Items[1])] };
    }
}
