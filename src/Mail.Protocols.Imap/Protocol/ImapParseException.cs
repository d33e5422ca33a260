using System.Diagnostics;
using System.Diagnostics.CodeAnalysis;

namespace Mail.Protocols.Imap.Protocol;

/// <summary>
/// A command that does not follow the grammar. <see cref="Exception.Message"/> is the human text of the tagged (or,
/// without a tag, untagged) BAD reply, e.g. "Missing space after tag"; it never quotes the client's bytes, so it is
/// safe to write and to log. The session answers BAD and continues with the next command.
/// </summary>
internal sealed class ImapParseException : Exception
{
    public ImapParseException()
        : base("Invalid command")
    {
    }

    public ImapParseException(string message)
        : base(message)
    {
    }

    public ImapParseException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    [DoesNotReturn]
    [StackTraceHidden]
    public static void Throw(string message) => throw new ImapParseException(message);
}
