using Mail.Protocols.Imap;
using Mail.Protocols.Storage;

namespace Mail.Protocols.Hosting;

/// <summary>The folders a host gives every IMAP user at first login unless told otherwise (RFC 6154 roles).</summary>
internal static class StandardFolders
{
    public static readonly ImapFolderAtLogin[] AtLogin =
    [
        new("Sent", SpecialUse.Sent), new("Drafts", SpecialUse.Drafts), new("Trash", SpecialUse.Trash),
        new("Junk", SpecialUse.Junk), new("Archive", SpecialUse.Archive),
    ];
}
