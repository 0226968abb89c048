//! The three roles a caller can have, whatever recognised it (a token's role claim, a
//! machine client's organisation number).

use crate::common::stored::stored_enum;

stored_enum! {
    Role {
        /// KS: runs the handbook and the kontaktpunkt; manages reference data.
        Ks = "ks",
        /// The ministry (KMD): funds the offer through grants.
        Kmd = "kmd",
        /// Staff or systems of one municipality, named by the `municipality` claim or by the
        /// organisation number of a machine client.
        Municipality = "municipality",
    }
}
