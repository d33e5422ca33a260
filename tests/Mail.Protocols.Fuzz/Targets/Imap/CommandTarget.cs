using System.Text;
using Mail.Protocols.Imap.Fetch;
using Mail.Protocols.Imap.Protocol;
using Mail.Protocols.Imap.Search;
using Mail.Protocols.Imap.Session;

namespace Mail.Protocols.Fuzz.Targets.Imap;

/// <summary>
/// One IMAP command as the session hands it to the grammar (tag, name, arguments, literals inline: RFC 9051 §9 with
/// RFC 7888's literal+), its arguments read by every argument grammar in turn (APPEND, LOGIN, AUTHENTICATE, COPY,
/// ENABLE, ID, LIST, LSUB, DELETE/SUBSCRIBE, RENAME, CREATE, SELECT, STATUS, STORE, UID EXPUNGE, FETCH, SEARCH), with
/// and without UTF8=ACCEPT. Properties: only <see cref="ImapParseException"/> is thrown, and its text (the BAD reply) is
/// one short line of printable ASCII; a command that parses was read to its end (APPEND to its message literal's "}", SEARCH to an unsupported CHARSET)
/// with every nesting level closed; ID
/// stays within RFC 2971's limits; every mailbox name read, written back as a client would (modified UTF-7 or UTF-8,
/// quoted or a literal), reads back as the same name; LOGIN's user name and password written back read back the same.
/// </summary>
internal sealed class CommandTarget : IFuzzTarget
{
    private delegate object Grammar(ref ImapReader reader);

    private static readonly (string Name, Grammar Parse)[] s_grammars =
    [
        ("APPEND", static (ref ImapReader r) => AppendArguments.Parse(ref r)),
        ("LOGIN", static (ref ImapReader r) => LoginArguments.Parse(ref r)),
        ("AUTHENTICATE", static (ref ImapReader r) => AuthenticateArguments.Parse(ref r)),
        ("COPY", static (ref ImapReader r) => CopyArguments.Parse(ref r)),
        ("ENABLE", static (ref ImapReader r) => EnableArguments.Parse(ref r)),
        ("ID", static (ref ImapReader r) => IdArguments.Parse(ref r)),
        ("LIST", static (ref ImapReader r) => ListArguments.Parse(ref r)),
        ("LSUB", static (ref ImapReader r) => LsubArguments.Parse(ref r)),
        ("DELETE", static (ref ImapReader r) => MailboxArguments.Parse(ref r)),
        ("RENAME", static (ref ImapReader r) => RenameArguments.Parse(ref r)),
        ("CREATE", static (ref ImapReader r) => CreateArguments.Parse(ref r)),
        ("SELECT", static (ref ImapReader r) => SelectArguments.Parse(ref r)),
        ("STATUS", static (ref ImapReader r) => StatusArguments.Parse(ref r)),
        ("STORE", static (ref ImapReader r) => StoreArguments.Parse(ref r)),
        ("UID EXPUNGE", static (ref ImapReader r) => UidCommand.ParseExpunge(ref r)),
        ("FETCH", static (ref ImapReader r) =>
        {
            r.ReadSpace();
            r.ReadSequenceSet();
            r.ReadSpace();
            var request = FetchParser.Read(ref r, isUid: true, qresyncEnabled: true);
            r.ReadEnd();
            return request;
        }),
        ("SEARCH", static (ref ImapReader r) => SearchParser.Parse(ref r)),
    ];

    public string Name => "ImapCommand";

    public void Run(ReadOnlySpan<byte> input)
    {
        var reader = new ImapReader(input);
        try
        {
            var tag = reader.ReadTag();
            Fuzz.Check(!tag.IsEmpty && !tag.Contains((byte)'+'), $"the tag \"{Fuzz.Escape(tag)}\"");
            reader.ReadSpace();
            var name = reader.ReadCommandName();
            if (ImapVerbs.Parse(name) == ImapVerb.Uid)
            {
                reader.ReadSpace();
                reader.ReadCommandName();
            }
        }
        catch (ImapParseException exception)
        {
            ImapText.CheckBad(exception);
            return;
        }

        var arguments = reader.Remaining;
        foreach (var utf8Accept in (ReadOnlySpan<bool>)[false, true])
        {
            foreach (var (command, parse) in s_grammars)
            {
                var grammar = new ImapReader(arguments) { Utf8Accept = utf8Accept };
                object parsed;
                try
                {
                    parsed = parse(ref grammar);
                }
                catch (ImapParseException exception)
                {
                    ImapText.CheckBad(exception);
                    continue;
                }

                // APPEND stops after the message literal's "}": the session streams the octets from there. SEARCH stops at
                // a CHARSET it does not support: the answer is NO [BADCHARSET] whatever follows (RFC 9051 §6.4.4).
                Fuzz.Check(command == "APPEND" ? arguments[grammar.Position - 1] == (byte)'}'
                    : grammar.IsAtEnd || parsed is SearchCommand { CharsetSupported: false }, $"{command}: parsed without reading to the end");
                Fuzz.Equal(0, grammar.Depth, $"{command}: nesting depth after the command");
                Check(parsed, utf8Accept);
            }
        }
    }

    private static void Check(object parsed, bool utf8Accept)
    {
        switch (parsed)
        {
            case AppendArguments append:
                ImapText.CheckMailboxRoundTrip(append.Mailbox, utf8Accept);
                Fuzz.Check(append.Message.Length >= 0, "APPEND: a negative literal length");
                break;
            case CopyArguments copy:
                ImapText.CheckMailboxRoundTrip(copy.Mailbox, utf8Accept);
                break;
            case MailboxArguments mailbox:
                ImapText.CheckMailboxRoundTrip(mailbox.Mailbox, utf8Accept);
                break;
            case RenameArguments rename:
                ImapText.CheckMailboxRoundTrip(rename.From, utf8Accept);
                ImapText.CheckMailboxRoundTrip(rename.To, utf8Accept);
                break;
            case CreateArguments create:
                ImapText.CheckMailboxRoundTrip(create.Mailbox, utf8Accept);
                break;
            case SelectArguments select:
                ImapText.CheckMailboxRoundTrip(select.Mailbox, utf8Accept);
                break;
            case StatusArguments status:
                ImapText.CheckMailboxRoundTrip(status.Mailbox, utf8Accept);
                break;
            case IdArguments { Fields: { } fields }:
                Fuzz.Check(fields.Count <= IdArguments.MaxPairs, $"ID: {fields.Count} fields");
                foreach (var (field, value) in fields)
                {
                    Fuzz.Check(Encoding.UTF8.GetByteCount(field) <= IdArguments.MaxFieldLength, "ID: a field name over 30 octets");
                    Fuzz.Check(value is null || Encoding.UTF8.GetByteCount(value) <= IdArguments.MaxValueLength, "ID: a value over 1024 octets");
                }

                break;
            case LoginArguments login:
                var written = ImapText.AString(Encoding.UTF8.GetBytes(login.UserName)).Concat(" "u8.ToArray()).Concat(ImapText.AString(Encoding.UTF8.GetBytes(login.Password))).ToArray();
                var reader = new ImapReader([(byte)' ', .. written]);
                LoginArguments again;
                try
                {
                    again = LoginArguments.Parse(ref reader);
                }
                catch (ImapParseException exception)
                {
                    throw new FuzzPropertyException($"LOGIN written back as \"{Fuzz.Escape(written)}\" does not parse: {exception.Message}");
                }

                Fuzz.Equal(login, again, "LOGIN written back and read again");
                break;
        }
    }
}
