using Mail.Protocols.Imap.Protocol;

namespace Mail.Protocols.Imap.Tests.Protocol;

/// <summary>Random commands made of the grammar's own pieces: every primitive either parses or throws ImapParseException, nothing else.</summary>
public class ImapReaderRobustnessTests
{
    private static readonly string[] s_pieces =
    [
        "(", ")", " ", "\"", "\\", "{", "}", "+", "~", "\r\n", "\r", "\n", "\0", "*", "%", "]", "[", ":", ",", "$", "-",
        "0", "1", "9", "4294967296", "99999999999999999999", "a", "NIL", "INBOX", "&", "&AOk-", "\u00e9", "\u00c3\u00a9",
        "{3}\r\n", "{0}\r\n", "~{2}\r\n", "{4294967296}\r\n", "\\Seen", "17-Jul-1996", "\"17-Jul-1996 02:44:25 -0700\"",
    ];

    private delegate void Primitive(ref ImapReader reader);

    private static readonly Primitive[] s_primitives =
    [
        (ref r) => r.ReadTag(), (ref r) => r.ReadAtom(), (ref r) => r.ReadNumber(), (ref r) => r.ReadNzNumber(),
        (ref r) => r.ReadNumber64(), (ref r) => r.ReadQuotedOctets(), (ref r) => r.ReadLiteralOctets(true),
        (ref r) => r.ReadStringOctets(), (ref r) => r.ReadAString(), (ref r) => r.ReadNString(),
        (ref r) => r.ReadOpenParen(), (ref r) => r.ReadCloseParen(), (ref r) => r.ReadFlagList(),
        (ref r) => r.ReadFlagSequence(), (ref r) => r.ReadDate(), (ref r) => r.ReadDateTime(), (ref r) => r.ReadMailbox(),
        (ref r) => r.ReadListMailbox(), (ref r) => r.ReadSequenceSet(), (ref r) => r.ReadSpace(), (ref r) => r.ReadEnd(),
        (ref r) => r.ReadLiteralHeader(true),
    ];

    private static readonly Primitive[] s_commands =
    [
        (ref r) => LoginArguments.Parse(ref r), (ref r) => AuthenticateArguments.Parse(ref r), (ref r) => EnableArguments.Parse(ref r),
        (ref r) => IdArguments.Parse(ref r), (ref r) => SelectArguments.Parse(ref r), (ref r) => CreateArguments.Parse(ref r),
        (ref r) => MailboxArguments.Parse(ref r), (ref r) => RenameArguments.Parse(ref r), (ref r) => ListArguments.Parse(ref r),
        (ref r) => LsubArguments.Parse(ref r), (ref r) => StatusArguments.Parse(ref r), (ref r) => AppendArguments.Parse(ref r),
        (ref r) => StoreArguments.Parse(ref r), (ref r) => CopyArguments.Parse(ref r), (ref r) => UidCommand.Read(ref r),
        (ref r) => UidCommand.ParseExpunge(ref r),
    ];

    private static readonly string[] s_words =
    [
        " ", "(", ")", "\"\"", "INBOX", "%", "*", "1:*", "$", "0", "7", "\\Seen", "\\Recent", "\\Drafts", "FLAGS", "+FLAGS.SILENT",
        "UNCHANGEDSINCE", "CONDSTORE", "QRESYNC", "USE", "RETURN", "STATUS", "MESSAGES", "SUBSCRIBED", "RECURSIVEMATCH",
        "SPECIAL-USE", "CHILDREN", "NIL", "UTF8", "{3}\r\nabc", "~{2+}", "{1}\r\n", "\"17-Jul-1996 02:44:25 -0700\"",
        "=", "dGVzdA==", "&AOk-", "a&b", "\u00e9", "\"x\"", "FETCH", "EXPUNGE", "MOVE",
    ];

    [Fact]
    public void Random_arguments_only_ever_throw_the_parse_exception()
    {
        var random = new Random(2971);
        for (var i = 0; i < 20_000; i++)
        {
            var text = string.Concat(Enumerable.Range(0, random.Next(0, 14)).Select(_ => s_words[random.Next(s_words.Length)]));
            var command = Parse.Octets(text);
            var reader = new ImapReader(command) { Utf8Accept = random.Next(2) == 0, MaxNestingDepth = 3, MaxSequenceRanges = 3 };
            try
            {
                s_commands[random.Next(s_commands.Length)](ref reader);
            }
            catch (ImapParseException)
            {
            }
            catch (Exception e)
            {
                Assert.Fail($"{e.GetType().Name} on '{text}': {e}");
            }
        }
    }

    [Fact]
    public void Random_input_only_ever_throws_the_parse_exception()
    {
        var random = new Random(11);
        for (var i = 0; i < 20_000; i++)
        {
            var text = string.Concat(Enumerable.Range(0, random.Next(1, 12)).Select(_ => s_pieces[random.Next(s_pieces.Length)]));
            var command = Parse.Octets(text);
            var reader = new ImapReader(command) { Utf8Accept = random.Next(2) == 0, MaxNestingDepth = 4 };
            try
            {
                for (var step = 0; step < 6 && !reader.IsAtEnd; step++)
                {
                    s_primitives[random.Next(s_primitives.Length)](ref reader);
                }
            }
            catch (ImapParseException)
            {
            }
            catch (Exception e)
            {
                Assert.Fail($"{e.GetType().Name} on {string.Join(' ', command.Select(b => b.ToString("x2", System.Globalization.CultureInfo.InvariantCulture)))}: {e}");
            }
        }
    }
}
