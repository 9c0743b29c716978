#include "admin.h"
