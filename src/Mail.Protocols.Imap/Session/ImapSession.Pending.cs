using Mail.Protocols.Imap.Protocol;

namespace Mail.Protocols.Imap.Session;

// TEMPORARY until FETCH and SEARCH land.
internal sealed partial class ImapSession
{
    private ValueTask<bool> FetchAsync(ref ImapReader reader, bool byUid)
    {
        Reject(ImapRejectReason.UnknownCommand);
        return Continue();
    }

    private ValueTask<bool> SearchAsync(ref ImapReader reader, bool byUid)
    {
        Reject(ImapRejectReason.UnknownCommand);
        return Continue();
    }
}
