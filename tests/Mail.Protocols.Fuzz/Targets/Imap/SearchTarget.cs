using System.Buffers;
using System.Globalization;
using System.Text;
using Mail.Protocols.Imap.Protocol;
using Mail.Protocols.Imap.Search;
using Mail.Protocols.Text;

namespace Mail.Protocols.Fuzz.Targets.Imap;

/// <summary>
/// SEARCH's arguments (<see cref="SearchParser"/>: RFC 9051 §6.4.4 search-program, RFC 4731 RETURN, RFC 5182 "$",
/// RFC 7162 MODSEQ), the input being what follows the command name. Properties: only <see cref="ImapParseException"/>,
/// with a one-line BAD text; the reader's nesting is closed after a parse; the key tree's depth is what its children
/// give and stays within the reader's nesting bound and <see cref="SearchKey.MaxDepth"/> (deep NOT/OR/parentheses are a
/// BAD, never a stack overflow); every string of a key is what the client sent. Round trip: the program written back
/// as a client would (strings quoted or as literals, dates as d-Mon-yyyy, sets as written) parses to the same tree and
/// return options.
/// </summary>
internal sealed class SearchTarget : IFuzzTarget
{
    private static readonly string[] s_months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

    public string Name => "ImapSearch";

    public void Run(ReadOnlySpan<byte> input)
    {
        var command = Parse(input);
        if (command is null || !command.CharsetSupported)
        {
            return;
        }

        CheckDepth(command.Key);
        Fuzz.Check(command.Key.Depth <= ImapReader.DefaultMaxNestingDepth + 1, $"a tree {command.Key.Depth} deep from a reader bounded at {ImapReader.DefaultMaxNestingDepth}");
        var written = Write(command);
        var again = Parse(written)
            ?? throw new FuzzPropertyException($"the program written back, \"{Fuzz.Escape(written)}\", does not parse");
        Fuzz.Equal(command.Return, again.Return, "the return options written back");
        Fuzz.Check(Same(command.Key, again.Key), $"the program written back, \"{Fuzz.Escape(written)}\", parses to another tree");
    }

    private static SearchCommand? Parse(ReadOnlySpan<byte> text)
    {
        var reader = new ImapReader(text);
        try
        {
            var command = SearchParser.Parse(ref reader);
            Fuzz.Equal(0, reader.Depth, "nesting depth after SEARCH");
            return command;
        }
        catch (ImapParseException exception)
        {
            ImapText.CheckBad(exception);
            return null;
        }
    }

    private static int CheckDepth(SearchKey key)
    {
        var depth = 0;
        foreach (var child in key.Children)
        {
            depth = Math.Max(depth, CheckDepth(child) + 1);
        }

        Fuzz.Equal(depth, key.Depth, $"the depth of a {key.Kind} key");
        Fuzz.Check(depth <= SearchKey.MaxDepth, $"a tree {depth} deep");
        return depth;
    }

    private static bool Same(SearchKey a, SearchKey b)
    {
        if (a.Kind != b.Kind || a.Value != b.Value || a.FieldName != b.FieldName || a.Date != b.Date || a.Number != b.Number
            || a.EntryType != b.EntryType || a.Children.Length != b.Children.Length
            || (a.Sequence is null) != (b.Sequence is null)
            || (a.Sequence is { } s && (!s.Ranges.SequenceEqual(b.Sequence!.Ranges) || s.IncludesSavedResult != b.Sequence.IncludesSavedResult)))
        {
            return false;
        }

        for (var i = 0; i < a.Children.Length; i++)
        {
            if (!Same(a.Children[i], b.Children[i]))
            {
                return false;
            }
        }

        return true;
    }

    private static byte[] Write(SearchCommand command)
    {
        var output = new ArrayBufferWriter<byte>();
        output.Write(" "u8);
        if (command.HasReturn)
        {
            output.Write("RETURN ("u8);
            var names = new List<string>();
            foreach (var option in Enum.GetValues<SearchReturnOptions>())
            {
                if (option != SearchReturnOptions.None && (command.Return & option) != 0)
                {
                    names.Add(option.ToString().ToUpperInvariant());
                }
            }

            output.WriteAscii(string.Join(' ', names));
            output.Write(") "u8);
        }

        WriteKey(output, command.Key);
        return output.WrittenSpan.ToArray();
    }

    private static void WriteKey(ArrayBufferWriter<byte> output, SearchKey key)
    {
        switch (key.Kind)
        {
            case SearchKeyKind.And:
                output.Write("("u8);
                for (var i = 0; i < key.Children.Length; i++)
                {
                    if (i > 0)
                    {
                        output.Write(" "u8);
                    }

                    WriteKey(output, key.Children[i]);
                }

                output.Write(")"u8);
                return;
            case SearchKeyKind.Not:
                output.Write("NOT "u8);
                WriteKey(output, key.Children[0]);
                return;
            case SearchKeyKind.Or:
                output.Write("OR "u8);
                WriteKey(output, key.Children[0]);
                output.Write(" "u8);
                WriteKey(output, key.Children[1]);
                return;
            case SearchKeyKind.SequenceSet:
                output.Write(SequenceSetTarget.Write(key.Sequence!));
                return;
        }

        output.WriteAscii(key.Kind.ToString().ToUpperInvariant());
        switch (key.Kind)
        {
            case SearchKeyKind.Uid:
                output.Write(" "u8);
                output.Write(SequenceSetTarget.Write(key.Sequence!));
                break;
            case SearchKeyKind.Keyword or SearchKeyKind.Unkeyword:
                output.Write(" "u8);
                output.WriteAscii(key.Value!);
                break;
            case SearchKeyKind.Before or SearchKeyKind.On or SearchKeyKind.Since or SearchKeyKind.SentBefore or SearchKeyKind.SentOn or SearchKeyKind.SentSince:
                output.WriteAscii(string.Create(CultureInfo.InvariantCulture, $" {key.Date.Day}-{s_months[key.Date.Month - 1]}-{key.Date.Year:0000}"));
                break;
            case SearchKeyKind.Larger or SearchKeyKind.Smaller:
                output.Write(" "u8);
                output.WriteNumber(key.Number);
                break;
            case SearchKeyKind.Header:
                output.Write(" "u8);
                output.WriteString(Encoding.ASCII.GetBytes(key.FieldName!));
                output.Write(" "u8);
                output.WriteString(Encoding.UTF8.GetBytes(key.Value!));
                break;
            case SearchKeyKind.Bcc or SearchKeyKind.Cc or SearchKeyKind.From or SearchKeyKind.To or SearchKeyKind.Subject or SearchKeyKind.Body or SearchKeyKind.Text:
                output.Write(" "u8);
                output.WriteString(Encoding.UTF8.GetBytes(key.Value!));
                break;
            case SearchKeyKind.ModSeq:
                if (key.Value is { } entry)
                {
                    output.Write(" "u8);
                    output.WriteQuoted(Encoding.ASCII.GetBytes(entry));
                    output.Write(key.EntryType switch
                    {
                        ModSeqEntryType.Private => " priv"u8,
                        ModSeqEntryType.Shared => " shared"u8,
                        _ => " all"u8,
                    });
                }

                output.Write(" "u8);
                output.WriteNumber(key.Number);
                break;
        }
    }
}
