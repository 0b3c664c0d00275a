# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_roostctl_global_optspecs
    string join \n socket= c/config= json h/help V/version
end

function __fish_roostctl_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_roostctl_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_roostctl_using_subcommand
    set -l cmd (__fish_roostctl_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c roostctl -n "__fish_roostctl_needs_command" -l socket -d 'roostd\'s admin socket [default: from the config file, else $ROOST_SOCKET, else ./data/roostd.sock]' -r -F
complete -c roostctl -n "__fish_roostctl_needs_command" -s c -l config -d 'roostd\'s configuration file; its admin socket is used' -r -F
complete -c roostctl -n "__fish_roostctl_needs_command" -l json -d 'Print JSON instead of text'
complete -c roostctl -n "__fish_roostctl_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c roostctl -n "__fish_roostctl_needs_command" -s V -l version -d 'Print version'
complete -c roostctl -n "__fish_roostctl_needs_command" -f -a "invites-api" -d 'Manage the keys of the HTTP invite API'
complete -c roostctl -n "__fish_roostctl_needs_command" -f -a "mod_invites_api" -d 'Manage the keys of the HTTP invite API'
complete -c roostctl -n "__fish_roostctl_needs_command" -f -a "user" -d 'Manage user accounts'
complete -c roostctl -n "__fish_roostctl_needs_command" -f -a "invite" -d 'Create, list, show and revoke invites'
complete -c roostctl -n "__fish_roostctl_needs_command" -f -a "roster" -d 'Show rosters, and fetch delegated ones again'
complete -c roostctl -n "__fish_roostctl_needs_command" -f -a "archive" -d 'Show the size of an account\'s message archive, or delete from it'
complete -c roostctl -n "__fish_roostctl_needs_command" -f -a "reload" -d 'Reload the TLS certificate and the options that can change live'
complete -c roostctl -n "__fish_roostctl_needs_command" -f -a "backup" -d 'Write a consistent copy of the database while roostd serves'
complete -c roostctl -n "__fish_roostctl_needs_command" -f -a "status" -d 'Show what roostd is doing: version, uptime, sessions, memory, listeners'
complete -c roostctl -n "__fish_roostctl_needs_command" -f -a "c2s" -d 'List and end client sessions'
complete -c roostctl -n "__fish_roostctl_needs_command" -f -a "audit" -d 'Show the audit log: who changed what, and security events'
complete -c roostctl -n "__fish_roostctl_needs_command" -f -a "shell" -d 'Open the interactive admin shell, or run one shell command'
complete -c roostctl -n "__fish_roostctl_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c roostctl -n "__fish_roostctl_using_subcommand invites-api; and not __fish_seen_subcommand_from create list delete help" -l socket -d 'roostd\'s admin socket [default: from the config file, else $ROOST_SOCKET, else ./data/roostd.sock]' -r -F
complete -c roostctl -n "__fish_roostctl_using_subcommand invites-api; and not __fish_seen_subcommand_from create list delete help" -s c -l config -d 'roostd\'s configuration file; its admin socket is used' -r -F
complete -c roostctl -n "__fish_roostctl_using_subcommand invites-api; and not __fish_seen_subcommand_from create list delete help" -l json -d 'Print JSON instead of text'
complete -c roostctl -n "__fish_roostctl_using_subcommand invites-api; and not __fish_seen_subcommand_from create list delete help" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c roostctl -n "__fish_roostctl_using_subcommand invites-api; and not __fish_seen_subcommand_from create list delete help" -f -a "create" -d 'Create an API key and print it as ID/SECRET'
complete -c roostctl -n "__fish_roostctl_using_subcommand invites-api; and not __fish_seen_subcommand_from create list delete help" -f -a "list" -d 'List the API keys of a host'
complete -c roostctl -n "__fish_roostctl_using_subcommand invites-api; and not __fish_seen_subcommand_from create list delete help" -f -a "delete" -d 'Delete an API key; it stops working at once'
complete -c roostctl -n "__fish_roostctl_using_subcommand invites-api; and not __fish_seen_subcommand_from create list delete help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c roostctl -n "__fish_roostctl_using_subcommand invites-api; and __fish_seen_subcommand_from create" -l expires-in -d 'How long the key works: seconds, or 30m, 12h, 7d, 1w [default: until deleted]' -r
complete -c roostctl -n "__fish_roostctl_using_subcommand invites-api; and __fish_seen_subcommand_from create" -l socket -d 'roostd\'s admin socket [default: from the config file, else $ROOST_SOCKET, else ./data/roostd.sock]' -r -F
complete -c roostctl -n "__fish_roostctl_using_subcommand invites-api; and __fish_seen_subcommand_from create" -s c -l config -d 'roostd\'s configuration file; its admin socket is used' -r -F
complete -c roostctl -n "__fish_roostctl_using_subcommand invites-api; and __fish_seen_subcommand_from create" -l json -d 'Print JSON instead of text'
complete -c roostctl -n "__fish_roostctl_using_subcommand invites-api; and __fish_seen_subcommand_from create" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c roostctl -n "__fish_roostctl_using_subcommand invites-api; and __fish_seen_subcommand_from list" -l socket -d 'roostd\'s admin socket [default: from the config file, else $ROOST_SOCKET, else ./data/roostd.sock]' -r -F
complete -c roostctl -n "__fish_roostctl_using_subcommand invites-api; and __fish_seen_subcommand_from list" -s c -l config -d 'roostd\'s configuration file; its admin socket is used' -r -F
complete -c roostctl -n "__fish_roostctl_using_subcommand invites-api; and __fish_seen_subcommand_from list" -l json -d 'Print JSON instead of text'
complete -c roostctl -n "__fish_roostctl_using_subcommand invites-api; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c roostctl -n "__fish_roostctl_using_subcommand invites-api; and __fish_seen_subcommand_from delete" -l socket -d 'roostd\'s admin socket [default: from the config file, else $ROOST_SOCKET, else ./data/roostd.sock]' -r -F
complete -c roostctl -n "__fish_roostctl_using_subcommand invites-api; and __fish_seen_subcommand_from delete" -s c -l config -d 'roostd\'s configuration file; its admin socket is used' -r -F
complete -c roostctl -n "__fish_roostctl_using_subcommand invites-api; and __fish_seen_subcommand_from delete" -l json -d 'Print JSON instead of text'
complete -c roostctl -n "__fish_roostctl_using_subcommand invites-api; and __fish_seen_subcommand_from delete" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c roostctl -n "__fish_roostctl_using_subcommand invites-api; and __fish_seen_subcommand_from help" -f -a "create" -d 'Create an API key and print it as ID/SECRET'
complete -c roostctl -n "__fish_roostctl_using_subcommand invites-api; and __fish_seen_subcommand_from help" -f -a "list" -d 'List the API keys of a host'
complete -c roostctl -n "__fish_roostctl_using_subcommand invites-api; and __fish_seen_subcommand_from help" -f -a "delete" -d 'Delete an API key; it stops working at once'
complete -c roostctl -n "__fish_roostctl_using_subcommand invites-api; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c roostctl -n "__fish_roostctl_using_subcommand mod_invites_api; and not __fish_seen_subcommand_from create list delete help" -l socket -d 'roostd\'s admin socket [default: from the config file, else $ROOST_SOCKET, else ./data/roostd.sock]' -r -F
complete -c roostctl -n "__fish_roostctl_using_subcommand mod_invites_api; and not __fish_seen_subcommand_from create list delete help" -s c -l config -d 'roostd\'s configuration file; its admin socket is used' -r -F
complete -c roostctl -n "__fish_roostctl_using_subcommand mod_invites_api; and not __fish_seen_subcommand_from create list delete help" -l json -d 'Print JSON instead of text'
complete -c roostctl -n "__fish_roostctl_using_subcommand mod_invites_api; and not __fish_seen_subcommand_from create list delete help" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c roostctl -n "__fish_roostctl_using_subcommand mod_invites_api; and not __fish_seen_subcommand_from create list delete help" -f -a "create" -d 'Create an API key and print it as ID/SECRET'
complete -c roostctl -n "__fish_roostctl_using_subcommand mod_invites_api; and not __fish_seen_subcommand_from create list delete help" -f -a "list" -d 'List the API keys of a host'
complete -c roostctl -n "__fish_roostctl_using_subcommand mod_invites_api; and not __fish_seen_subcommand_from create list delete help" -f -a "delete" -d 'Delete an API key; it stops working at once'
complete -c roostctl -n "__fish_roostctl_using_subcommand mod_invites_api; and not __fish_seen_subcommand_from create list delete help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c roostctl -n "__fish_roostctl_using_subcommand mod_invites_api; and __fish_seen_subcommand_from create" -l expires-in -d 'How long the key works: seconds, or 30m, 12h, 7d, 1w [default: until deleted]' -r
complete -c roostctl -n "__fish_roostctl_using_subcommand mod_invites_api; and __fish_seen_subcommand_from create" -l socket -d 'roostd\'s admin socket [default: from the config file, else $ROOST_SOCKET, else ./data/roostd.sock]' -r -F
complete -c roostctl -n "__fish_roostctl_using_subcommand mod_invites_api; and __fish_seen_subcommand_from create" -s c -l config -d 'roostd\'s configuration file; its admin socket is used' -r -F
complete -c roostctl -n "__fish_roostctl_using_subcommand mod_invites_api; and __fish_seen_subcommand_from create" -l json -d 'Print JSON instead of text'
complete -c roostctl -n "__fish_roostctl_using_subcommand mod_invites_api; and __fish_seen_subcommand_from create" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c roostctl -n "__fish_roostctl_using_subcommand mod_invites_api; and __fish_seen_subcommand_from list" -l socket -d 'roostd\'s admin socket [default: from the config file, else $ROOST_SOCKET, else ./data/roostd.sock]' -r -F
complete -c roostctl -n "__fish_roostctl_using_subcommand mod_invites_api; and __fish_seen_subcommand_from list" -s c -l config -d 'roostd\'s configuration file; its admin socket is used' -r -F
complete -c roostctl -n "__fish_roostctl_using_subcommand mod_invites_api; and __fish_seen_subcommand_from list" -l json -d 'Print JSON instead of text'
complete -c roostctl -n "__fish_roostctl_using_subcommand mod_invites_api; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c roostctl -n "__fish_roostctl_using_subcommand mod_invites_api; and __fish_seen_subcommand_from delete" -l socket -d 'roostd\'s admin socket [default: from the config file, else $ROOST_SOCKET, else ./data/roostd.sock]' -r -F
complete -c roostctl -n "__fish_roostctl_using_subcommand mod_invites_api; and __fish_seen_subcommand_from delete" -s c -l config -d 'roostd\'s configuration file; its admin socket is used' -r -F
complete -c roostctl -n "__fish_roostctl_using_subcommand mod_invites_api; and __fish_seen_subcommand_from delete" -l json -d 'Print JSON instead of text'
complete -c roostctl -n "__fish_roostctl_using_subcommand mod_invites_api; and __fish_seen_subcommand_from delete" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c roostctl -n "__fish_roostctl_using_subcommand mod_invites_api; and __fish_seen_subcommand_from help" -f -a "create" -d 'Create an API key and print it as ID/SECRET'
complete -c roostctl -n "__fish_roostctl_using_subcommand mod_invites_api; and __fish_seen_subcommand_from help" -f -a "list" -d 'List the API keys of a host'
complete -c roostctl -n "__fish_roostctl_using_subcommand mod_invites_api; and __fish_seen_subcommand_from help" -f -a "delete" -d 'Delete an API key; it stops working at once'
complete -c roostctl -n "__fish_roostctl_using_subcommand mod_invites_api; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c roostctl -n "__fish_roostctl_using_subcommand user; and not __fish_seen_subcommand_from create password delete list set-role clients revoke_client revoke-client help" -l socket -d 'roostd\'s admin socket [default: from the config file, else $ROOST_SOCKET, else ./data/roostd.sock]' -r -F
complete -c roostctl -n "__fish_roostctl_using_subcommand user; and not __fish_seen_subcommand_from create password delete list set-role clients revoke_client revoke-client help" -s c -l config -d 'roostd\'s configuration file; its admin socket is used' -r -F
complete -c roostctl -n "__fish_roostctl_using_subcommand user; and not __fish_seen_subcommand_from create password delete list set-role clients revoke_client revoke-client help" -l json -d 'Print JSON instead of text'
complete -c roostctl -n "__fish_roostctl_using_subcommand user; and not __fish_seen_subcommand_from create password delete list set-role clients revoke_client revoke-client help" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c roostctl -n "__fish_roostctl_using_subcommand user; and not __fish_seen_subcommand_from create password delete list set-role clients revoke_client revoke-client help" -f -a "create" -d 'Create an account'
complete -c roostctl -n "__fish_roostctl_using_subcommand user; and not __fish_seen_subcommand_from create password delete list set-role clients revoke_client revoke-client help" -f -a "password" -d 'Set a new password for an account'
complete -c roostctl -n "__fish_roostctl_using_subcommand user; and not __fish_seen_subcommand_from create password delete list set-role clients revoke_client revoke-client help" -f -a "delete" -d 'Delete an account with its roster and offline messages'
complete -c roostctl -n "__fish_roostctl_using_subcommand user; and not __fish_seen_subcommand_from create password delete list set-role clients revoke_client revoke-client help" -f -a "list" -d 'List the accounts of a host'
complete -c roostctl -n "__fish_roostctl_using_subcommand user; and not __fish_seen_subcommand_from create password delete list set-role clients revoke_client revoke-client help" -f -a "set-role" -d 'Make an account an admin or a plain user'
complete -c roostctl -n "__fish_roostctl_using_subcommand user; and not __fish_seen_subcommand_from create password delete list set-role clients revoke_client revoke-client help" -f -a "clients" -d 'List the clients that have access to an account'
complete -c roostctl -n "__fish_roostctl_using_subcommand user; and not __fish_seen_subcommand_from create password delete list set-role clients revoke_client revoke-client help" -f -a "revoke_client" -d 'Revoke a client\'s access: end its sessions, delete its FAST tokens'
complete -c roostctl -n "__fish_roostctl_using_subcommand user; and not __fish_seen_subcommand_from create password delete list set-role clients revoke_client revoke-client help" -f -a "revoke-client" -d 'Revoke a client\'s access: end its sessions, delete its FAST tokens'
complete -c roostctl -n "__fish_roostctl_using_subcommand user; and not __fish_seen_subcommand_from create password delete list set-role clients revoke_client revoke-client help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c roostctl -n "__fish_roostctl_using_subcommand user; and __fish_seen_subcommand_from create" -l role -d 'What the account may do [default: user]' -r -f -a "user\t''
admin\t''"
complete -c roostctl -n "__fish_roostctl_using_subcommand user; and __fish_seen_subcommand_from create" -l socket -d 'roostd\'s admin socket [default: from the config file, else $ROOST_SOCKET, else ./data/roostd.sock]' -r -F
complete -c roostctl -n "__fish_roostctl_using_subcommand user; and __fish_seen_subcommand_from create" -s c -l config -d 'roostd\'s configuration file; its admin socket is used' -r -F
complete -c roostctl -n "__fish_roostctl_using_subcommand user; and __fish_seen_subcommand_from create" -l password-stdin -d 'Read the password from standard input, one line without its line ending, instead of asking for it'
complete -c roostctl -n "__fish_roostctl_using_subcommand user; and __fish_seen_subcommand_from create" -l json -d 'Print JSON instead of text'
complete -c roostctl -n "__fish_roostctl_using_subcommand user; and __fish_seen_subcommand_from create" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c roostctl -n "__fish_roostctl_using_subcommand user; and __fish_seen_subcommand_from password" -l socket -d 'roostd\'s admin socket [default: from the config file, else $ROOST_SOCKET, else ./data/roostd.sock]' -r -F
complete -c roostctl -n "__fish_roostctl_using_subcommand user; and __fish_seen_subcommand_from password" -s c -l config -d 'roostd\'s configuration file; its admin socket is used' -r -F
complete -c roostctl -n "__fish_roostctl_using_subcommand user; and __fish_seen_subcommand_from password" -l password-stdin -d 'Read the password from standard input, one line without its line ending, instead of asking for it'
complete -c roostctl -n "__fish_roostctl_using_subcommand user; and __fish_seen_subcommand_from password" -l json -d 'Print JSON instead of text'
complete -c roostctl -n "__fish_roostctl_using_subcommand user; and __fish_seen_subcommand_from password" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c roostctl -n "__fish_roostctl_using_subcommand user; and __fish_seen_subcommand_from delete" -l socket -d 'roostd\'s admin socket [default: from the config file, else $ROOST_SOCKET, else ./data/roostd.sock]' -r -F
complete -c roostctl -n "__fish_roostctl_using_subcommand user; and __fish_seen_subcommand_from delete" -s c -l config -d 'roostd\'s configuration file; its admin socket is used' -r -F
complete -c roostctl -n "__fish_roostctl_using_subcommand user; and __fish_seen_subcommand_from delete" -l json -d 'Print JSON instead of text'
complete -c roostctl -n "__fish_roostctl_using_subcommand user; and __fish_seen_subcommand_from delete" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c roostctl -n "__fish_roostctl_using_subcommand user; and __fish_seen_subcommand_from list" -l socket -d 'roostd\'s admin socket [default: from the config file, else $ROOST_SOCKET, else ./data/roostd.sock]' -r -F
complete -c roostctl -n "__fish_roostctl_using_subcommand user; and __fish_seen_subcommand_from list" -s c -l config -d 'roostd\'s configuration file; its admin socket is used' -r -F
complete -c roostctl -n "__fish_roostctl_using_subcommand user; and __fish_seen_subcommand_from list" -l json -d 'Print JSON instead of text'
complete -c roostctl -n "__fish_roostctl_using_subcommand user; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c roostctl -n "__fish_roostctl_using_subcommand user; and __fish_seen_subcommand_from set-role" -l socket -d 'roostd\'s admin socket [default: from the config file, else $ROOST_SOCKET, else ./data/roostd.sock]' -r -F
complete -c roostctl -n "__fish_roostctl_using_subcommand user; and __fish_seen_subcommand_from set-role" -s c -l config -d 'roostd\'s configuration file; its admin socket is used' -r -F
complete -c roostctl -n "__fish_roostctl_using_subcommand user; and __fish_seen_subcommand_from set-role" -l json -d 'Print JSON instead of text'
complete -c roostctl -n "__fish_roostctl_using_subcommand user; and __fish_seen_subcommand_from set-role" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c roostctl -n "__fish_roostctl_using_subcommand user; and __fish_seen_subcommand_from clients" -l socket -d 'roostd\'s admin socket [default: from the config file, else $ROOST_SOCKET, else ./data/roostd.sock]' -r -F
complete -c roostctl -n "__fish_roostctl_using_subcommand user; and __fish_seen_subcommand_from clients" -s c -l config -d 'roostd\'s configuration file; its admin socket is used' -r -F
complete -c roostctl -n "__fish_roostctl_using_subcommand user; and __fish_seen_subcommand_from clients" -l json -d 'Print JSON instead of text'
complete -c roostctl -n "__fish_roostctl_using_subcommand user; and __fish_seen_subcommand_from clients" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c roostctl -n "__fish_roostctl_using_subcommand user; and __fish_seen_subcommand_from revoke_client" -l socket -d 'roostd\'s admin socket [default: from the config file, else $ROOST_SOCKET, else ./data/roostd.sock]' -r -F
complete -c roostctl -n "__fish_roostctl_using_subcommand user; and __fish_seen_subcommand_from revoke_client" -s c -l config -d 'roostd\'s configuration file; its admin socket is used' -r -F
complete -c roostctl -n "__fish_roostctl_using_subcommand user; and __fish_seen_subcommand_from revoke_client" -l json -d 'Print JSON instead of text'
complete -c roostctl -n "__fish_roostctl_using_subcommand user; and __fish_seen_subcommand_from revoke_client" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c roostctl -n "__fish_roostctl_using_subcommand user; and __fish_seen_subcommand_from revoke-client" -l socket -d 'roostd\'s admin socket [default: from the config file, else $ROOST_SOCKET, else ./data/roostd.sock]' -r -F
complete -c roostctl -n "__fish_roostctl_using_subcommand user; and __fish_seen_subcommand_from revoke-client" -s c -l config -d 'roostd\'s configuration file; its admin socket is used' -r -F
complete -c roostctl -n "__fish_roostctl_using_subcommand user; and __fish_seen_subcommand_from revoke-client" -l json -d 'Print JSON instead of text'
complete -c roostctl -n "__fish_roostctl_using_subcommand user; and __fish_seen_subcommand_from revoke-client" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c roostctl -n "__fish_roostctl_using_subcommand user; and __fish_seen_subcommand_from help" -f -a "create" -d 'Create an account'
complete -c roostctl -n "__fish_roostctl_using_subcommand user; and __fish_seen_subcommand_from help" -f -a "password" -d 'Set a new password for an account'
complete -c roostctl -n "__fish_roostctl_using_subcommand user; and __fish_seen_subcommand_from help" -f -a "delete" -d 'Delete an account with its roster and offline messages'
complete -c roostctl -n "__fish_roostctl_using_subcommand user; and __fish_seen_subcommand_from help" -f -a "list" -d 'List the accounts of a host'
complete -c roostctl -n "__fish_roostctl_using_subcommand user; and __fish_seen_subcommand_from help" -f -a "set-role" -d 'Make an account an admin or a plain user'
complete -c roostctl -n "__fish_roostctl_using_subcommand user; and __fish_seen_subcommand_from help" -f -a "clients" -d 'List the clients that have access to an account'
complete -c roostctl -n "__fish_roostctl_using_subcommand user; and __fish_seen_subcommand_from help" -f -a "revoke_client" -d 'Revoke a client\'s access: end its sessions, delete its FAST tokens'
complete -c roostctl -n "__fish_roostctl_using_subcommand user; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c roostctl -n "__fish_roostctl_using_subcommand invite; and not __fish_seen_subcommand_from create list show revoke help" -l socket -d 'roostd\'s admin socket [default: from the config file, else $ROOST_SOCKET, else ./data/roostd.sock]' -r -F
complete -c roostctl -n "__fish_roostctl_using_subcommand invite; and not __fish_seen_subcommand_from create list show revoke help" -s c -l config -d 'roostd\'s configuration file; its admin socket is used' -r -F
complete -c roostctl -n "__fish_roostctl_using_subcommand invite; and not __fish_seen_subcommand_from create list show revoke help" -l json -d 'Print JSON instead of text'
complete -c roostctl -n "__fish_roostctl_using_subcommand invite; and not __fish_seen_subcommand_from create list show revoke help" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c roostctl -n "__fish_roostctl_using_subcommand invite; and not __fish_seen_subcommand_from create list show revoke help" -f -a "create" -d 'Create an invite and print its landing page URL'
complete -c roostctl -n "__fish_roostctl_using_subcommand invite; and not __fish_seen_subcommand_from create list show revoke help" -f -a "list" -d 'List the pending invites of a host, oldest first, with who used them'
complete -c roostctl -n "__fish_roostctl_using_subcommand invite; and not __fish_seen_subcommand_from create list show revoke help" -f -a "show" -d 'Show one invite in detail, with who used it and when'
complete -c roostctl -n "__fish_roostctl_using_subcommand invite; and not __fish_seen_subcommand_from create list show revoke help" -f -a "revoke" -d 'Revoke an invite; its link stops working at once'
complete -c roostctl -n "__fish_roostctl_using_subcommand invite; and not __fish_seen_subcommand_from create list show revoke help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c roostctl -n "__fish_roostctl_using_subcommand invite; and __fish_seen_subcommand_from create" -l type -d 'What the invite lets its holder do' -r -f -a "account\t''
contact\t''
both\t''"
complete -c roostctl -n "__fish_roostctl_using_subcommand invite; and __fish_seen_subcommand_from create" -l inviter -d 'The account whose contact the invited person becomes, such as alice@HOST (required for --type contact and both)' -r
complete -c roostctl -n "__fish_roostctl_using_subcommand invite; and __fish_seen_subcommand_from create" -l ttl -d 'How long the invite works: seconds, or 30m, 12h, 7d, 1w [default: invites.expiry of the config]' -r
complete -c roostctl -n "__fish_roostctl_using_subcommand invite; and __fish_seen_subcommand_from create" -l uses -d 'How many times the invite may be used' -r
complete -c roostctl -n "__fish_roostctl_using_subcommand invite; and __fish_seen_subcommand_from create" -l socket -d 'roostd\'s admin socket [default: from the config file, else $ROOST_SOCKET, else ./data/roostd.sock]' -r -F
complete -c roostctl -n "__fish_roostctl_using_subcommand invite; and __fish_seen_subcommand_from create" -s c -l config -d 'roostd\'s configuration file; its admin socket is used' -r -F
complete -c roostctl -n "__fish_roostctl_using_subcommand invite; and __fish_seen_subcommand_from create" -l qr -d 'Also print the link as a QR code, to scan with a phone (not with --json)'
complete -c roostctl -n "__fish_roostctl_using_subcommand invite; and __fish_seen_subcommand_from create" -l json -d 'Print JSON instead of text'
complete -c roostctl -n "__fish_roostctl_using_subcommand invite; and __fish_seen_subcommand_from create" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c roostctl -n "__fish_roostctl_using_subcommand invite; and __fish_seen_subcommand_from list" -l socket -d 'roostd\'s admin socket [default: from the config file, else $ROOST_SOCKET, else ./data/roostd.sock]' -r -F
complete -c roostctl -n "__fish_roostctl_using_subcommand invite; and __fish_seen_subcommand_from list" -s c -l config -d 'roostd\'s configuration file; its admin socket is used' -r -F
complete -c roostctl -n "__fish_roostctl_using_subcommand invite; and __fish_seen_subcommand_from list" -l all -d 'Also list used-up invites; roostd keeps them until they expire'
complete -c roostctl -n "__fish_roostctl_using_subcommand invite; and __fish_seen_subcommand_from list" -l json -d 'Print JSON instead of text'
complete -c roostctl -n "__fish_roostctl_using_subcommand invite; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c roostctl -n "__fish_roostctl_using_subcommand invite; and __fish_seen_subcommand_from show" -l socket -d 'roostd\'s admin socket [default: from the config file, else $ROOST_SOCKET, else ./data/roostd.sock]' -r -F
complete -c roostctl -n "__fish_roostctl_using_subcommand invite; and __fish_seen_subcommand_from show" -s c -l config -d 'roostd\'s configuration file; its admin socket is used' -r -F
complete -c roostctl -n "__fish_roostctl_using_subcommand invite; and __fish_seen_subcommand_from show" -l json -d 'Print JSON instead of text'
complete -c roostctl -n "__fish_roostctl_using_subcommand invite; and __fish_seen_subcommand_from show" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c roostctl -n "__fish_roostctl_using_subcommand invite; and __fish_seen_subcommand_from revoke" -l socket -d 'roostd\'s admin socket [default: from the config file, else $ROOST_SOCKET, else ./data/roostd.sock]' -r -F
complete -c roostctl -n "__fish_roostctl_using_subcommand invite; and __fish_seen_subcommand_from revoke" -s c -l config -d 'roostd\'s configuration file; its admin socket is used' -r -F
complete -c roostctl -n "__fish_roostctl_using_subcommand invite; and __fish_seen_subcommand_from revoke" -l json -d 'Print JSON instead of text'
complete -c roostctl -n "__fish_roostctl_using_subcommand invite; and __fish_seen_subcommand_from revoke" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c roostctl -n "__fish_roostctl_using_subcommand invite; and __fish_seen_subcommand_from help" -f -a "create" -d 'Create an invite and print its landing page URL'
complete -c roostctl -n "__fish_roostctl_using_subcommand invite; and __fish_seen_subcommand_from help" -f -a "list" -d 'List the pending invites of a host, oldest first, with who used them'
complete -c roostctl -n "__fish_roostctl_using_subcommand invite; and __fish_seen_subcommand_from help" -f -a "show" -d 'Show one invite in detail, with who used it and when'
complete -c roostctl -n "__fish_roostctl_using_subcommand invite; and __fish_seen_subcommand_from help" -f -a "revoke" -d 'Revoke an invite; its link stops working at once'
complete -c roostctl -n "__fish_roostctl_using_subcommand invite; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c roostctl -n "__fish_roostctl_using_subcommand roster; and not __fish_seen_subcommand_from show refresh help" -l socket -d 'roostd\'s admin socket [default: from the config file, else $ROOST_SOCKET, else ./data/roostd.sock]' -r -F
complete -c roostctl -n "__fish_roostctl_using_subcommand roster; and not __fish_seen_subcommand_from show refresh help" -s c -l config -d 'roostd\'s configuration file; its admin socket is used' -r -F
complete -c roostctl -n "__fish_roostctl_using_subcommand roster; and not __fish_seen_subcommand_from show refresh help" -l json -d 'Print JSON instead of text'
complete -c roostctl -n "__fish_roostctl_using_subcommand roster; and not __fish_seen_subcommand_from show refresh help" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c roostctl -n "__fish_roostctl_using_subcommand roster; and not __fish_seen_subcommand_from show refresh help" -f -a "show" -d 'Show an account\'s roster: contacts, names, subscriptions, groups'
complete -c roostctl -n "__fish_roostctl_using_subcommand roster; and not __fish_seen_subcommand_from show refresh help" -f -a "refresh" -d 'Fetch delegated rosters again from their roster service'
complete -c roostctl -n "__fish_roostctl_using_subcommand roster; and not __fish_seen_subcommand_from show refresh help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c roostctl -n "__fish_roostctl_using_subcommand roster; and __fish_seen_subcommand_from show" -l socket -d 'roostd\'s admin socket [default: from the config file, else $ROOST_SOCKET, else ./data/roostd.sock]' -r -F
complete -c roostctl -n "__fish_roostctl_using_subcommand roster; and __fish_seen_subcommand_from show" -s c -l config -d 'roostd\'s configuration file; its admin socket is used' -r -F
complete -c roostctl -n "__fish_roostctl_using_subcommand roster; and __fish_seen_subcommand_from show" -l json -d 'Print JSON instead of text'
complete -c roostctl -n "__fish_roostctl_using_subcommand roster; and __fish_seen_subcommand_from show" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c roostctl -n "__fish_roostctl_using_subcommand roster; and __fish_seen_subcommand_from refresh" -l socket -d 'roostd\'s admin socket [default: from the config file, else $ROOST_SOCKET, else ./data/roostd.sock]' -r -F
complete -c roostctl -n "__fish_roostctl_using_subcommand roster; and __fish_seen_subcommand_from refresh" -s c -l config -d 'roostd\'s configuration file; its admin socket is used' -r -F
complete -c roostctl -n "__fish_roostctl_using_subcommand roster; and __fish_seen_subcommand_from refresh" -l json -d 'Print JSON instead of text'
complete -c roostctl -n "__fish_roostctl_using_subcommand roster; and __fish_seen_subcommand_from refresh" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c roostctl -n "__fish_roostctl_using_subcommand roster; and __fish_seen_subcommand_from help" -f -a "show" -d 'Show an account\'s roster: contacts, names, subscriptions, groups'
complete -c roostctl -n "__fish_roostctl_using_subcommand roster; and __fish_seen_subcommand_from help" -f -a "refresh" -d 'Fetch delegated rosters again from their roster service'
complete -c roostctl -n "__fish_roostctl_using_subcommand roster; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c roostctl -n "__fish_roostctl_using_subcommand archive; and not __fish_seen_subcommand_from size purge help" -l socket -d 'roostd\'s admin socket [default: from the config file, else $ROOST_SOCKET, else ./data/roostd.sock]' -r -F
complete -c roostctl -n "__fish_roostctl_using_subcommand archive; and not __fish_seen_subcommand_from size purge help" -s c -l config -d 'roostd\'s configuration file; its admin socket is used' -r -F
complete -c roostctl -n "__fish_roostctl_using_subcommand archive; and not __fish_seen_subcommand_from size purge help" -l json -d 'Print JSON instead of text'
complete -c roostctl -n "__fish_roostctl_using_subcommand archive; and not __fish_seen_subcommand_from size purge help" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c roostctl -n "__fish_roostctl_using_subcommand archive; and not __fish_seen_subcommand_from size purge help" -f -a "size" -d 'How many messages an account\'s archive holds, their size and age'
complete -c roostctl -n "__fish_roostctl_using_subcommand archive; and not __fish_seen_subcommand_from size purge help" -f -a "purge" -d 'Delete an account\'s archived messages: all, or those older than a time'
complete -c roostctl -n "__fish_roostctl_using_subcommand archive; and not __fish_seen_subcommand_from size purge help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c roostctl -n "__fish_roostctl_using_subcommand archive; and __fish_seen_subcommand_from size" -l socket -d 'roostd\'s admin socket [default: from the config file, else $ROOST_SOCKET, else ./data/roostd.sock]' -r -F
complete -c roostctl -n "__fish_roostctl_using_subcommand archive; and __fish_seen_subcommand_from size" -s c -l config -d 'roostd\'s configuration file; its admin socket is used' -r -F
complete -c roostctl -n "__fish_roostctl_using_subcommand archive; and __fish_seen_subcommand_from size" -l json -d 'Print JSON instead of text'
complete -c roostctl -n "__fish_roostctl_using_subcommand archive; and __fish_seen_subcommand_from size" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c roostctl -n "__fish_roostctl_using_subcommand archive; and __fish_seen_subcommand_from purge" -l before -d 'Only messages older than this: seconds, or 30m, 12h, 7d, 1w' -r
complete -c roostctl -n "__fish_roostctl_using_subcommand archive; and __fish_seen_subcommand_from purge" -l socket -d 'roostd\'s admin socket [default: from the config file, else $ROOST_SOCKET, else ./data/roostd.sock]' -r -F
complete -c roostctl -n "__fish_roostctl_using_subcommand archive; and __fish_seen_subcommand_from purge" -s c -l config -d 'roostd\'s configuration file; its admin socket is used' -r -F
complete -c roostctl -n "__fish_roostctl_using_subcommand archive; and __fish_seen_subcommand_from purge" -l all -d 'Every message of the account'
complete -c roostctl -n "__fish_roostctl_using_subcommand archive; and __fish_seen_subcommand_from purge" -l json -d 'Print JSON instead of text'
complete -c roostctl -n "__fish_roostctl_using_subcommand archive; and __fish_seen_subcommand_from purge" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c roostctl -n "__fish_roostctl_using_subcommand archive; and __fish_seen_subcommand_from help" -f -a "size" -d 'How many messages an account\'s archive holds, their size and age'
complete -c roostctl -n "__fish_roostctl_using_subcommand archive; and __fish_seen_subcommand_from help" -f -a "purge" -d 'Delete an account\'s archived messages: all, or those older than a time'
complete -c roostctl -n "__fish_roostctl_using_subcommand archive; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c roostctl -n "__fish_roostctl_using_subcommand reload" -l socket -d 'roostd\'s admin socket [default: from the config file, else $ROOST_SOCKET, else ./data/roostd.sock]' -r -F
complete -c roostctl -n "__fish_roostctl_using_subcommand reload" -s c -l config -d 'roostd\'s configuration file; its admin socket is used' -r -F
complete -c roostctl -n "__fish_roostctl_using_subcommand reload" -l json -d 'Print JSON instead of text'
complete -c roostctl -n "__fish_roostctl_using_subcommand reload" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c roostctl -n "__fish_roostctl_using_subcommand backup" -l socket -d 'roostd\'s admin socket [default: from the config file, else $ROOST_SOCKET, else ./data/roostd.sock]' -r -F
complete -c roostctl -n "__fish_roostctl_using_subcommand backup" -s c -l config -d 'roostd\'s configuration file; its admin socket is used' -r -F
complete -c roostctl -n "__fish_roostctl_using_subcommand backup" -l json -d 'Print JSON instead of text'
complete -c roostctl -n "__fish_roostctl_using_subcommand backup" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c roostctl -n "__fish_roostctl_using_subcommand status" -l socket -d 'roostd\'s admin socket [default: from the config file, else $ROOST_SOCKET, else ./data/roostd.sock]' -r -F
complete -c roostctl -n "__fish_roostctl_using_subcommand status" -s c -l config -d 'roostd\'s configuration file; its admin socket is used' -r -F
complete -c roostctl -n "__fish_roostctl_using_subcommand status" -l json -d 'Print JSON instead of text'
complete -c roostctl -n "__fish_roostctl_using_subcommand status" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c roostctl -n "__fish_roostctl_using_subcommand c2s; and not __fish_seen_subcommand_from list show close help" -l socket -d 'roostd\'s admin socket [default: from the config file, else $ROOST_SOCKET, else ./data/roostd.sock]' -r -F
complete -c roostctl -n "__fish_roostctl_using_subcommand c2s; and not __fish_seen_subcommand_from list show close help" -s c -l config -d 'roostd\'s configuration file; its admin socket is used' -r -F
complete -c roostctl -n "__fish_roostctl_using_subcommand c2s; and not __fish_seen_subcommand_from list show close help" -l json -d 'Print JSON instead of text'
complete -c roostctl -n "__fish_roostctl_using_subcommand c2s; and not __fish_seen_subcommand_from list show close help" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c roostctl -n "__fish_roostctl_using_subcommand c2s; and not __fish_seen_subcommand_from list show close help" -f -a "list" -d 'List the bound client sessions, by JID'
complete -c roostctl -n "__fish_roostctl_using_subcommand c2s; and not __fish_seen_subcommand_from list show close help" -f -a "show" -d 'List the bound client sessions, by JID'
complete -c roostctl -n "__fish_roostctl_using_subcommand c2s; and not __fish_seen_subcommand_from list show close help" -f -a "close" -d 'End a session, or every session of an account'
complete -c roostctl -n "__fish_roostctl_using_subcommand c2s; and not __fish_seen_subcommand_from list show close help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c roostctl -n "__fish_roostctl_using_subcommand c2s; and __fish_seen_subcommand_from list" -l socket -d 'roostd\'s admin socket [default: from the config file, else $ROOST_SOCKET, else ./data/roostd.sock]' -r -F
complete -c roostctl -n "__fish_roostctl_using_subcommand c2s; and __fish_seen_subcommand_from list" -s c -l config -d 'roostd\'s configuration file; its admin socket is used' -r -F
complete -c roostctl -n "__fish_roostctl_using_subcommand c2s; and __fish_seen_subcommand_from list" -l json -d 'Print JSON instead of text'
complete -c roostctl -n "__fish_roostctl_using_subcommand c2s; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c roostctl -n "__fish_roostctl_using_subcommand c2s; and __fish_seen_subcommand_from show" -l socket -d 'roostd\'s admin socket [default: from the config file, else $ROOST_SOCKET, else ./data/roostd.sock]' -r -F
complete -c roostctl -n "__fish_roostctl_using_subcommand c2s; and __fish_seen_subcommand_from show" -s c -l config -d 'roostd\'s configuration file; its admin socket is used' -r -F
complete -c roostctl -n "__fish_roostctl_using_subcommand c2s; and __fish_seen_subcommand_from show" -l json -d 'Print JSON instead of text'
complete -c roostctl -n "__fish_roostctl_using_subcommand c2s; and __fish_seen_subcommand_from show" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c roostctl -n "__fish_roostctl_using_subcommand c2s; and __fish_seen_subcommand_from close" -l reason -d 'What the client is told: up to 1024 bytes, no control characters but tabs and line breaks' -r
complete -c roostctl -n "__fish_roostctl_using_subcommand c2s; and __fish_seen_subcommand_from close" -l socket -d 'roostd\'s admin socket [default: from the config file, else $ROOST_SOCKET, else ./data/roostd.sock]' -r -F
complete -c roostctl -n "__fish_roostctl_using_subcommand c2s; and __fish_seen_subcommand_from close" -s c -l config -d 'roostd\'s configuration file; its admin socket is used' -r -F
complete -c roostctl -n "__fish_roostctl_using_subcommand c2s; and __fish_seen_subcommand_from close" -l json -d 'Print JSON instead of text'
complete -c roostctl -n "__fish_roostctl_using_subcommand c2s; and __fish_seen_subcommand_from close" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c roostctl -n "__fish_roostctl_using_subcommand c2s; and __fish_seen_subcommand_from help" -f -a "list" -d 'List the bound client sessions, by JID'
complete -c roostctl -n "__fish_roostctl_using_subcommand c2s; and __fish_seen_subcommand_from help" -f -a "close" -d 'End a session, or every session of an account'
complete -c roostctl -n "__fish_roostctl_using_subcommand c2s; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c roostctl -n "__fish_roostctl_using_subcommand audit" -l host -d 'Only entries about this virtual host' -r
complete -c roostctl -n "__fish_roostctl_using_subcommand audit" -l jid -d 'Only entries about this account, or made by this XMPP user' -r
complete -c roostctl -n "__fish_roostctl_using_subcommand audit" -l since -d 'Only entries at most this old: seconds, or 30m, 12h, 7d, 1w' -r
complete -c roostctl -n "__fish_roostctl_using_subcommand audit" -l action -d 'Only entries of this action' -r -f -a "api_key.create\t''
api_key.delete\t''
invite.create\t''
invite.revoke\t''
invite.redeem\t''
account.create\t''
account.delete\t''
account.password\t''
account.role\t''
client.revoke\t''
roster.refresh\t''
login.lockout\t''
admin.connect\t''
session.close\t''
server.reload\t''
database.backup\t''
archive.purge\t''"
complete -c roostctl -n "__fish_roostctl_using_subcommand audit" -l limit -d 'At most this many entries, the newest' -r
complete -c roostctl -n "__fish_roostctl_using_subcommand audit" -l socket -d 'roostd\'s admin socket [default: from the config file, else $ROOST_SOCKET, else ./data/roostd.sock]' -r -F
complete -c roostctl -n "__fish_roostctl_using_subcommand audit" -s c -l config -d 'roostd\'s configuration file; its admin socket is used' -r -F
complete -c roostctl -n "__fish_roostctl_using_subcommand audit" -l json -d 'Print JSON instead of text'
complete -c roostctl -n "__fish_roostctl_using_subcommand audit" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c roostctl -n "__fish_roostctl_using_subcommand shell" -l socket -d 'roostd\'s admin socket [default: from the config file, else $ROOST_SOCKET, else ./data/roostd.sock]' -r -F
complete -c roostctl -n "__fish_roostctl_using_subcommand shell" -s c -l config -d 'roostd\'s configuration file; its admin socket is used' -r -F
complete -c roostctl -n "__fish_roostctl_using_subcommand shell" -l json -d 'Print JSON instead of text'
complete -c roostctl -n "__fish_roostctl_using_subcommand shell" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c roostctl -n "__fish_roostctl_using_subcommand help; and not __fish_seen_subcommand_from invites-api user invite roster archive reload backup status c2s audit shell help" -f -a "invites-api" -d 'Manage the keys of the HTTP invite API'
complete -c roostctl -n "__fish_roostctl_using_subcommand help; and not __fish_seen_subcommand_from invites-api user invite roster archive reload backup status c2s audit shell help" -f -a "user" -d 'Manage user accounts'
complete -c roostctl -n "__fish_roostctl_using_subcommand help; and not __fish_seen_subcommand_from invites-api user invite roster archive reload backup status c2s audit shell help" -f -a "invite" -d 'Create, list, show and revoke invites'
complete -c roostctl -n "__fish_roostctl_using_subcommand help; and not __fish_seen_subcommand_from invites-api user invite roster archive reload backup status c2s audit shell help" -f -a "roster" -d 'Show rosters, and fetch delegated ones again'
complete -c roostctl -n "__fish_roostctl_using_subcommand help; and not __fish_seen_subcommand_from invites-api user invite roster archive reload backup status c2s audit shell help" -f -a "archive" -d 'Show the size of an account\'s message archive, or delete from it'
complete -c roostctl -n "__fish_roostctl_using_subcommand help; and not __fish_seen_subcommand_from invites-api user invite roster archive reload backup status c2s audit shell help" -f -a "reload" -d 'Reload the TLS certificate and the options that can change live'
complete -c roostctl -n "__fish_roostctl_using_subcommand help; and not __fish_seen_subcommand_from invites-api user invite roster archive reload backup status c2s audit shell help" -f -a "backup" -d 'Write a consistent copy of the database while roostd serves'
complete -c roostctl -n "__fish_roostctl_using_subcommand help; and not __fish_seen_subcommand_from invites-api user invite roster archive reload backup status c2s audit shell help" -f -a "status" -d 'Show what roostd is doing: version, uptime, sessions, memory, listeners'
complete -c roostctl -n "__fish_roostctl_using_subcommand help; and not __fish_seen_subcommand_from invites-api user invite roster archive reload backup status c2s audit shell help" -f -a "c2s" -d 'List and end client sessions'
complete -c roostctl -n "__fish_roostctl_using_subcommand help; and not __fish_seen_subcommand_from invites-api user invite roster archive reload backup status c2s audit shell help" -f -a "audit" -d 'Show the audit log: who changed what, and security events'
complete -c roostctl -n "__fish_roostctl_using_subcommand help; and not __fish_seen_subcommand_from invites-api user invite roster archive reload backup status c2s audit shell help" -f -a "shell" -d 'Open the interactive admin shell, or run one shell command'
complete -c roostctl -n "__fish_roostctl_using_subcommand help; and not __fish_seen_subcommand_from invites-api user invite roster archive reload backup status c2s audit shell help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c roostctl -n "__fish_roostctl_using_subcommand help; and __fish_seen_subcommand_from invites-api" -f -a "create" -d 'Create an API key and print it as ID/SECRET'
complete -c roostctl -n "__fish_roostctl_using_subcommand help; and __fish_seen_subcommand_from invites-api" -f -a "list" -d 'List the API keys of a host'
complete -c roostctl -n "__fish_roostctl_using_subcommand help; and __fish_seen_subcommand_from invites-api" -f -a "delete" -d 'Delete an API key; it stops working at once'
complete -c roostctl -n "__fish_roostctl_using_subcommand help; and __fish_seen_subcommand_from user" -f -a "create" -d 'Create an account'
complete -c roostctl -n "__fish_roostctl_using_subcommand help; and __fish_seen_subcommand_from user" -f -a "password" -d 'Set a new password for an account'
complete -c roostctl -n "__fish_roostctl_using_subcommand help; and __fish_seen_subcommand_from user" -f -a "delete" -d 'Delete an account with its roster and offline messages'
complete -c roostctl -n "__fish_roostctl_using_subcommand help; and __fish_seen_subcommand_from user" -f -a "list" -d 'List the accounts of a host'
complete -c roostctl -n "__fish_roostctl_using_subcommand help; and __fish_seen_subcommand_from user" -f -a "set-role" -d 'Make an account an admin or a plain user'
complete -c roostctl -n "__fish_roostctl_using_subcommand help; and __fish_seen_subcommand_from user" -f -a "clients" -d 'List the clients that have access to an account'
complete -c roostctl -n "__fish_roostctl_using_subcommand help; and __fish_seen_subcommand_from user" -f -a "revoke_client" -d 'Revoke a client\'s access: end its sessions, delete its FAST tokens'
complete -c roostctl -n "__fish_roostctl_using_subcommand help; and __fish_seen_subcommand_from invite" -f -a "create" -d 'Create an invite and print its landing page URL'
complete -c roostctl -n "__fish_roostctl_using_subcommand help; and __fish_seen_subcommand_from invite" -f -a "list" -d 'List the pending invites of a host, oldest first, with who used them'
complete -c roostctl -n "__fish_roostctl_using_subcommand help; and __fish_seen_subcommand_from invite" -f -a "show" -d 'Show one invite in detail, with who used it and when'
complete -c roostctl -n "__fish_roostctl_using_subcommand help; and __fish_seen_subcommand_from invite" -f -a "revoke" -d 'Revoke an invite; its link stops working at once'
complete -c roostctl -n "__fish_roostctl_using_subcommand help; and __fish_seen_subcommand_from roster" -f -a "show" -d 'Show an account\'s roster: contacts, names, subscriptions, groups'
complete -c roostctl -n "__fish_roostctl_using_subcommand help; and __fish_seen_subcommand_from roster" -f -a "refresh" -d 'Fetch delegated rosters again from their roster service'
complete -c roostctl -n "__fish_roostctl_using_subcommand help; and __fish_seen_subcommand_from archive" -f -a "size" -d 'How many messages an account\'s archive holds, their size and age'
complete -c roostctl -n "__fish_roostctl_using_subcommand help; and __fish_seen_subcommand_from archive" -f -a "purge" -d 'Delete an account\'s archived messages: all, or those older than a time'
complete -c roostctl -n "__fish_roostctl_using_subcommand help; and __fish_seen_subcommand_from c2s" -f -a "list" -d 'List the bound client sessions, by JID'
complete -c roostctl -n "__fish_roostctl_using_subcommand help; and __fish_seen_subcommand_from c2s" -f -a "close" -d 'End a session, or every session of an account'
