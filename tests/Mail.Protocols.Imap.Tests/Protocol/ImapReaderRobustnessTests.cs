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
